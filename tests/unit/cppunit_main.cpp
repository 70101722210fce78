// Shared main for the CppUnit test programs: runs every registered test, prints one
// "PASS: name" or "FAIL: name" line per test (counted by tests/run-all.sh) and a summary.
#include <cppunit/BriefTestProgressListener.h>
#include <cppunit/CompilerOutputter.h>
#include <cppunit/Exception.h>
#include <cppunit/TestFailure.h>
#include <cppunit/TestListener.h>
#include <cppunit/TestResult.h>
#include <cppunit/TestResultCollector.h>
#include <cppunit/TestRunner.h>
#include <cppunit/extensions/TestFactoryRegistry.h>

#include <iostream>
#include <string>

namespace {

class LineListener final : public CppUnit::TestListener {
public:
    void startTest(CppUnit::Test*) override { m_failed = false; }
    void addFailure(const CppUnit::TestFailure& failure) override
    {
        m_failed = true;
        std::cout << "  failure in " << failure.failedTestName() << ": "
                  << failure.thrownException()->what() << "\n";
    }
    void endTest(CppUnit::Test* test) override
    {
        std::cout << (m_failed ? "FAIL: " : "PASS: ") << test->getName() << std::endl;
        (m_failed ? m_fail : m_pass)++;
    }
    int passed() const { return m_pass; }
    int failed() const { return m_fail; }

private:
    bool m_failed = false;
    int m_pass = 0;
    int m_fail = 0;
};

}  // namespace

int main(int argc, char** argv)
{
    CppUnit::TestResult controller;
    CppUnit::TestResultCollector collector;
    LineListener lines;
    controller.addListener(&collector);
    controller.addListener(&lines);

    CppUnit::TestRunner runner;
    runner.addTest(CppUnit::TestFactoryRegistry::getRegistry().makeTest());
    // An optional argument selects one test or suite by name.
    const std::string only = argc > 1 ? argv[1] : "";
    try {
        runner.run(controller, only);
    } catch (const std::exception& e) {
        std::cout << "FAIL: no test named " << only << " (" << e.what() << ")\n";
        return 1;
    }
    std::cout << argv[0] << ": " << lines.passed() << " passed, " << lines.failed() << " failed"
              << std::endl;
    return lines.failed() == 0 ? 0 : 1;
}
