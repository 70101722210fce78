# policy/: pure decisions (rules -> per-recipient plan); no I/O.
noinst_LIBRARIES += policy/libssm_policy.a
policy_libssm_policy_a_SOURCES = policy/policy.h policy/policy.cpp

check_PROGRAMS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.cpp $(UNIT_MAIN)
tests_unit_test_policy_LDADD = policy/libssm_policy.a base/libssm_base.a $(UNIT_LIBS)
