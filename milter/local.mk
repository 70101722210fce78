# milter/: the daemon: configuration, libmilter callbacks, per-message processing.
noinst_LIBRARIES += milter/libssm_milter.a
milter_libssm_milter_a_SOURCES = \
	milter/config_table.h milter/config_table.cpp \
	milter/config.h milter/config.cpp \
	milter/network.h milter/network.cpp

check_PROGRAMS += tests/unit/test_config
tests_unit_test_config_SOURCES = tests/unit/test_config.cpp $(UNIT_MAIN)
tests_unit_test_config_LDADD = milter/libssm_milter.a policy/libssm_policy.a \
	smime/libssm_smime.a base/libssm_base.a $(UNIT_LIBS)
