// RAII over LMDB for the directory's persistent stores (harvested certificates now, the lookup
// cache later): one environment per folder shared by every store in it, named databases,
// and transactions that abort unless committed.
// SECURITY: the database files are ours (0600 in a 0700 folder) but are still read defensively
// by the stores (a corrupt record is skipped, not trusted). LMDB itself trusts the file's
// structure: a data file shorter than the pages in use is refused at open (reading it through
// the map is SIGBUS); a page corrupted inside the file is not detected (LMDB has no checksums).
#pragma once
#include <cstddef>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <lmdb.h>

#include "base/bytes.h"

namespace ssm::directory::lmdb {

struct EnvironmentOptions {
    std::size_t map_size = std::size_t{1} << 30;  // address space reserved; the file grows as used
    unsigned max_databases = 8;                    // named databases: harvest, cache, ...
    unsigned max_readers = 512;                    // concurrent read transactions (milter threads)
};

// One open MDB_env. LMDB forbids opening the same environment twice in one process (its locks
// are per process), so open() hands out the environment already open for a folder; it closes
// when the last store using it goes away. Errors throw ssm::Error(DirectoryUnavailable).
class Environment {
    struct Key {
        explicit Key() = default;
    };

public:
    static std::shared_ptr<Environment> open(const std::filesystem::path& folder,
                                             const EnvironmentOptions& options = {});
    ~Environment();
    Environment(const Environment&) = delete;
    Environment& operator=(const Environment&) = delete;

    MDB_env* get() const noexcept { return m_env; }
    const std::filesystem::path& folder() const noexcept { return m_folder; }
    // The named database, created on first use. Handles stay valid until the environment
    // closes (LMDB frees them with it; they are never closed one by one).
    MDB_dbi database(const std::string& name);

    // Only open() can make the key (the constructor is public for make_shared).
    Environment(Key, MDB_env* env, std::filesystem::path folder) : m_env(env), m_folder(std::move(folder)) {}

private:
    MDB_env* m_env;
    std::filesystem::path m_folder;  // the registry key
    bool m_registered = false;       // in the registry: the destructor removes it
    std::mutex m_dbi_mutex;  // mdb_dbi_open must not run in concurrent transactions
    std::map<std::string, MDB_dbi> m_dbis;
};

// One transaction, used only by the thread that made it. Aborted by the destructor unless
// commit() succeeded. Read transactions may run concurrently with each other and one writer.
// A write transaction first clears the reader slots of dead processes (mdb_reader_check).
class Transaction {
public:
    enum class Mode { Read, Write };
    Transaction(Environment& env, Mode mode);
    ~Transaction();
    Transaction(const Transaction&) = delete;
    Transaction& operator=(const Transaction&) = delete;

    // The stored value (valid until the transaction ends), or nullopt when the key is absent.
    std::optional<ByteView> get(MDB_dbi dbi, std::string_view key);
    // Throws ssm::Error(Temporary) when the map is full, DirectoryUnavailable otherwise.
    void put(MDB_dbi dbi, std::string_view key, ByteView value);
    bool erase(MDB_dbi dbi, std::string_view key);  // false when the key was absent
    void commit();
    MDB_txn* get() const noexcept { return m_txn; }

private:
    Environment& m_env;
    MDB_txn* m_txn = nullptr;
};

// An LMDB cursor over one database, closed before its transaction ends (declare it after the
// transaction).
class Cursor {
public:
    Cursor(Transaction& txn, MDB_dbi dbi, Environment& env);
    ~Cursor() { mdb_cursor_close(m_cursor); }
    Cursor(const Cursor&) = delete;
    Cursor& operator=(const Cursor&) = delete;
    MDB_cursor* get() const noexcept { return m_cursor; }

private:
    MDB_cursor* m_cursor = nullptr;
};

// Throws ssm::Error(DirectoryUnavailable) naming the folder and operation when rc != 0.
void check(int rc, const Environment& env, std::string_view operation);

}  // namespace ssm::directory::lmdb
