# tools/: ssmctl, the administrator's command line.
bin_PROGRAMS += ssmctl
ssmctl_SOURCES = tools/ssmctl.cpp \
	tools/ssmctl_process.h tools/ssmctl_process.cpp \
	tools/ssmctl_hsm.h tools/ssmctl_hsm.cpp \
	tools/ssmctl_cert.h tools/ssmctl_cert.cpp \
	tools/ssmctl_policy.h tools/ssmctl_policy.cpp \
	tools/ssmctl_receipts.h tools/ssmctl_receipts.cpp
ssmctl_SOURCES += tools/ssmctl_clearance.h tools/ssmctl_clearance.cpp
ssmctl_SOURCES += tools/ssmctl_list.h tools/ssmctl_list.cpp
ssmctl_SOURCES += tools/ssmctl_exit.h tools/ssmctl_exit_codes.h
ssmctl_LDADD = $(SSM_CORE_LIBS) $(SSM_EXTERNAL_LIBS)
check_PROGRAMS += tests/unit/test_ssmctl_receipts
tests_unit_test_ssmctl_receipts_SOURCES = tests/unit/test_ssmctl_receipts.cpp tools/ssmctl_receipts.cpp $(UNIT_MAIN)
tests_unit_test_ssmctl_receipts_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
