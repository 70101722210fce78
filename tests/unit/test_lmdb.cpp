// Unit tests for the LMDB layer under the directory's stores (directory/lmdb.h) against real
// LMDB files and real processes: a data file cut short is refused (never read through the map,
// which is SIGBUS), and the reader slot of a process killed inside a read transaction does not
// pin old pages until the map is full.
#include <cppunit/extensions/HelperMacros.h>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "base/error.h"
#include "directory/harvest_store.h"
#include "directory/lmdb.h"
#include "tests/unit/test_support.h"

using namespace ssm;
using namespace ssm::directory;
namespace {

using test::addr;

void put(lmdb::Environment& env, MDB_dbi dbi, const std::string& key, const std::string& value)
{
    lmdb::Transaction txn(env, lmdb::Transaction::Mode::Write);
    txn.put(dbi, key, as_bytes(value));
    txn.commit();
}

}  // namespace

class LmdbTest : public CppUnit::TestFixture {
    CPPUNIT_TEST_SUITE(LmdbTest);
    CPPUNIT_TEST(truncated_data_file_is_refused_not_read);
    CPPUNIT_TEST(killed_reader_does_not_fill_the_map);
    CPPUNIT_TEST_SUITE_END();

public:
    // A data file cut short (a full disk during a copy, a restore from a partial backup): LMDB
    // maps the file and trusts its meta page, so a lookup touched pages past the end of the
    // file: SIGBUS, the milter gone with every message in flight. The environment must refuse
    // to open, naming the file, so that its stores are unavailable (451 where a certificate
    // is needed) and nothing crashes.
    void truncated_data_file_is_refused_not_read()
    {
        test::TempDir t;
        {
            HarvestStore store(t.path());
            const Bytes der = test::pki_der("bob");
            // Enough records for a tree of several pages.
            for (int i = 0; i < 300; ++i) {
                auto env = store.environment();
                put(*env, env->database("filler"), "key" + std::to_string(i), std::string(200, 'x'));
            }
            CPPUNIT_ASSERT(store.store(addr("bob@acme.example"), der, std::nullopt, 42));
        }
        const auto data = t.path() / "data.mdb";
        CPPUNIT_ASSERT(std::filesystem::file_size(data) > 16 * 4096);
        std::filesystem::resize_file(data, 4 * 4096);  // the meta pages and a little more
        try {
            HarvestStore store(t.path());
            store.lookup(addr("bob@acme.example"));
            CPPUNIT_FAIL("a truncated data file was opened");
        } catch (const Error& e) {
            CPPUNIT_ASSERT(e.failure() == Failure::DirectoryUnavailable);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("data.mdb") != std::string::npos);
            CPPUNIT_ASSERT_MESSAGE(e.what(), std::string(e.what()).find("truncated") != std::string::npos);
        }
    }

    // `ssmctl cert lookup` killed (SIGKILL, OOM) inside a read transaction leaves its reader
    // slot behind; LMDB keeps every page that slot's snapshot may see, so a long-running
    // milter that only cleared dead slots when it opened the environment reused no freed page
    // again and grew until the map was full: harvesting, receipts and cache writes then
    // failed for good. Dead slots must be cleared before writing.
    void killed_reader_does_not_fill_the_map()
    {
        test::TempDir t;
        lmdb::EnvironmentOptions small;
        small.map_size = 1024 * 1024;
        auto env = lmdb::Environment::open(t.path(), small);
        const MDB_dbi dbi = env->database("cache");
        put(*env, dbi, "partner", std::string(8000, 'a'));

        int ready[2];
        CPPUNIT_ASSERT_EQUAL(0, ::pipe(ready));
        const pid_t pid = fork();
        CPPUNIT_ASSERT(pid >= 0);
        if (pid == 0) {
            // Another process (the raw API: this process's environment must not cross fork).
            MDB_env* raw = nullptr;
            MDB_txn* txn = nullptr;
            if (mdb_env_create(&raw) != 0 || mdb_env_set_maxdbs(raw, 8) != 0 ||
                mdb_env_set_mapsize(raw, small.map_size) != 0 ||
                mdb_env_open(raw, t.path().c_str(), MDB_NOTLS, 0600) != 0 ||
                mdb_txn_begin(raw, nullptr, MDB_RDONLY, &txn) != 0)
                _exit(1);
            const char one = 1;
            if (::write(ready[1], &one, 1) != 1) _exit(2);
            for (;;) ::pause();
        }
        ::close(ready[1]);
        char got = 0;
        const bool reading = ::read(ready[0], &got, 1) == 1;
        ::close(ready[0]);
        ::kill(pid, SIGKILL);
        int status = 0;
        ::waitpid(pid, &status, 0);
        CPPUNIT_ASSERT_MESSAGE("the reader process did not start its transaction", reading);

        // 400 rewrites of one 8 KB value: 3 MB of pages if none could be reused.
        for (int i = 0; i < 400; ++i) {
            try {
                put(*env, dbi, "partner", std::string(8000, static_cast<char>('a' + i % 26)));
            } catch (const Error& e) {
                CPPUNIT_FAIL("write " + std::to_string(i) + ": " + e.what());
            }
        }
    }
};

CPPUNIT_TEST_SUITE_REGISTRATION(LmdbTest);
