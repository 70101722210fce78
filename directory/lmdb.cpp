// LMDB environments and transactions (see lmdb.h).
#include "directory/lmdb.h"

#include <sys/stat.h>

#include <cerrno>

#include <condition_variable>
#include <utility>

#include "base/error.h"

namespace ssm::directory::lmdb {

namespace {

MDB_val value_of(std::string_view s)
{
    return {s.size(), const_cast<char*>(s.data())};
}

// Folders with an open environment, so that a second open in this process shares it (for
// example a reload building new stores while the old ones still serve messages). An entry
// whose environment has expired is still closing: open() waits for the destructor to erase it,
// because closing LMDB's files would drop the locks of an environment opened meanwhile.
std::mutex g_registry_mutex;
std::condition_variable g_registry_closed;
std::map<std::string, std::weak_ptr<Environment>> g_registry;

// LMDB maps the data file and trusts its meta page: pages it names past the end of a file cut
// short (a full disk during a copy, a partial restore) are read through the map, which is
// SIGBUS, the whole process gone. A file shorter than the pages in use is refused here, naming
// it, so the stores in it are unavailable (the callers' 451) instead.
void refuse_truncated(const Environment& env, const std::string& folder)
{
    MDB_envinfo info{};
    MDB_stat stat{};
    check(mdb_env_info(env.get(), &info), env, "read environment info");
    check(mdb_env_stat(env.get(), &stat), env, "read environment stat");
    const std::filesystem::path data = std::filesystem::path(folder) / "data.mdb";
    std::error_code ec;
    const std::uintmax_t size = std::filesystem::file_size(data, ec);
    if (ec) throw Error(Failure::DirectoryUnavailable, "lmdb " + data.string() + ": " + ec.message());
    const std::uintmax_t needed = (static_cast<std::uintmax_t>(info.me_last_pgno) + 1) * stat.ms_psize;
    if (size < needed)
        throw Error(Failure::DirectoryUnavailable, "lmdb " + data.string() + ": truncated: " + std::to_string(size) +
                                                       " bytes, its pages in use need " + std::to_string(needed) +
                                                       " (restore it or move it away)");
}

}  // namespace

void check(int rc, const Environment& env, std::string_view operation)
{
    if (rc == 0) return;
    const Failure f = rc == MDB_MAP_FULL ? Failure::Temporary : Failure::DirectoryUnavailable;
    throw Error(f, "lmdb " + env.folder().string() + ": " + std::string(operation) + ": " + mdb_strerror(rc));
}

std::shared_ptr<Environment> Environment::open(const std::filesystem::path& folder,
                                               const EnvironmentOptions& options)
{
    namespace fs = std::filesystem;
    std::error_code ec;
    // A folder we create is private to the service user from the start (the store reveals
    // correspondents): made 0700, not made by the umask (0755) and narrowed afterwards. The
    // chmod after it covers a umask that takes owner bits away. Folders above it are ordinary.
    const fs::path leaf = folder.has_filename() ? folder : folder.parent_path();  // "cache/"
    if (leaf.has_parent_path()) fs::create_directories(leaf.parent_path(), ec);
    if (!ec) {
        if (::mkdir(leaf.c_str(), S_IRWXU) == 0)
            fs::permissions(leaf, fs::perms::owner_all, fs::perm_options::replace, ec);
        else if (errno != EEXIST)
            ec = std::error_code(errno, std::generic_category());
    }
    if (ec) throw Error(Failure::DirectoryUnavailable, "cannot create " + folder.string() + ": " + ec.message());
    const fs::path canonical = fs::weakly_canonical(folder, ec);
    const std::string key = (ec ? folder : canonical).string();

    std::unique_lock lock(g_registry_mutex);
    for (;;) {
        auto it = g_registry.find(key);
        if (it == g_registry.end()) break;
        if (auto existing = it->second.lock()) return existing;
        g_registry_closed.wait(lock);
    }

    auto env = std::make_shared<Environment>(Key{}, nullptr, key);
    check(mdb_env_create(&env->m_env), *env, "create");
    MDB_env* raw = env->m_env;
    check(mdb_env_set_mapsize(raw, options.map_size), *env, "set map size");
    check(mdb_env_set_maxdbs(raw, options.max_databases), *env, "set max databases");
    check(mdb_env_set_maxreaders(raw, options.max_readers), *env, "set max readers");
    // MDB_NOTLS: read transactions are not tied to thread-local slots, so milter threads can
    // come and go without exhausting the reader table.
    check(mdb_env_open(raw, key.c_str(), MDB_NOTLS, S_IRUSR | S_IWUSR), *env, "open");
    refuse_truncated(*env, key);
    int dead = 0;
    mdb_reader_check(raw, &dead);  // clear reader slots left by a crashed process
    g_registry[key] = env;
    env->m_registered = true;
    return env;
}

Environment::~Environment()
{
    if (m_env) mdb_env_close(m_env);
    if (!m_registered) return;
    std::lock_guard lock(g_registry_mutex);
    g_registry.erase(m_folder.string());
    g_registry_closed.notify_all();
}

MDB_dbi Environment::database(const std::string& name)
{
    std::lock_guard lock(m_dbi_mutex);
    if (auto it = m_dbis.find(name); it != m_dbis.end()) return it->second;
    Transaction txn(*this, Transaction::Mode::Write);
    MDB_dbi dbi = 0;
    check(mdb_dbi_open(txn.get(), name.c_str(), MDB_CREATE, &dbi), *this, "open database " + name);
    txn.commit();
    m_dbis.emplace(name, dbi);
    return dbi;
}

Transaction::Transaction(Environment& env, Mode mode) : m_env(env)
{
    // The reader slot of a process killed inside a read transaction (ssmctl under SIGKILL or
    // the OOM killer) pins the pages its snapshot may see: no page freed since could be reused
    // and the file grew until the map was full, for good in a daemon that only cleared such
    // slots when it opened the environment. Writers are few (misses, harvests, receipts) and
    // the check is one pass over the reader table.
    if (mode == Mode::Write) {
        int dead = 0;
        mdb_reader_check(env.get(), &dead);
    }
    check(mdb_txn_begin(env.get(), nullptr, mode == Mode::Read ? MDB_RDONLY : 0, &m_txn), env,
          "begin transaction");
}

Transaction::~Transaction()
{
    if (m_txn) mdb_txn_abort(m_txn);
}

std::optional<ByteView> Transaction::get(MDB_dbi dbi, std::string_view key)
{
    MDB_val k = value_of(key);
    MDB_val v{0, nullptr};
    int rc = mdb_get(m_txn, dbi, &k, &v);
    if (rc == MDB_NOTFOUND) return std::nullopt;
    check(rc, m_env, "get");
    return ByteView(static_cast<const std::uint8_t*>(v.mv_data), v.mv_size);
}

void Transaction::put(MDB_dbi dbi, std::string_view key, ByteView value)
{
    MDB_val k = value_of(key);
    MDB_val v{value.size(), const_cast<std::uint8_t*>(value.data())};
    check(mdb_put(m_txn, dbi, &k, &v, 0), m_env, "put");
}

bool Transaction::erase(MDB_dbi dbi, std::string_view key)
{
    MDB_val k = value_of(key);
    int rc = mdb_del(m_txn, dbi, &k, nullptr);
    if (rc == MDB_NOTFOUND) return false;
    check(rc, m_env, "delete");
    return true;
}

void Transaction::commit()
{
    MDB_txn* t = std::exchange(m_txn, nullptr);  // committed or not, the handle is gone
    check(mdb_txn_commit(t), m_env, "commit");
}

Cursor::Cursor(Transaction& txn, MDB_dbi dbi, Environment& env)
{
    check(mdb_cursor_open(txn.get(), dbi, &m_cursor), env, "open cursor");
}

}  // namespace ssm::directory::lmdb
