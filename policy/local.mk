# policy/: pure decisions (rules -> per-recipient plan); no I/O.
noinst_LIBRARIES += policy/libssm_policy.a
SSM_SOURCES_policy = \
	policy/treatment.h policy/treatment.cpp \
	policy/cipher_choice.h policy/cipher_choice.cpp \
	policy/recipient_delimiter.h policy/recipient_delimiter.cpp \
	policy/address_extensions.h policy/address_extensions.cpp \
	policy/address_pattern.h policy/address_pattern.cpp \
	policy/match.h policy/match.cpp \
	policy/rule.h policy/rule.cpp \
	policy/policy.h policy/policy.cpp \
	policy/labels.h policy/labels.cpp \
	policy/sender_check.h policy/sender_check.cpp \
	policy/blind_recipients.h policy/blind_recipients.cpp \
	policy/inbound_requirements.h policy/inbound_requirements.cpp

check_PROGRAMS += tests/unit/test_policy
tests_unit_test_policy_SOURCES = tests/unit/test_policy.cpp tests/unit/test_policy_support.h $(UNIT_MAIN)
tests_unit_test_policy_LDADD = policy/libssm_policy.a smime/mime/libssm_mime.a base/libssm_base.a $(UNIT_LIBS)
# Conditions with client networks and the rule loader need the milter's configuration code.
check_PROGRAMS += tests/unit/test_policy_match
tests_unit_test_policy_match_SOURCES = tests/unit/test_policy_match.cpp tests/unit/test_policy_support.h $(UNIT_MAIN)
tests_unit_test_policy_match_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_policy_table
tests_unit_test_policy_table_SOURCES = tests/unit/test_policy_table.cpp tests/unit/test_policy_support.h $(UNIT_MAIN)
tests_unit_test_policy_table_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_config_rules
tests_unit_test_config_rules_SOURCES = tests/unit/test_config_rules.cpp $(UNIT_MAIN)
tests_unit_test_config_rules_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# The actions as MessageProcessor carries them out (SoftHSM token, OpenSSL as the reader).
check_PROGRAMS += tests/unit/test_policy_replan
tests_unit_test_policy_replan_SOURCES = tests/unit/test_policy_replan.cpp tests/unit/test_processor_support.h $(UNIT_MAIN)
tests_unit_test_policy_replan_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# directory::LdapGroups (the policy's group conditions) against a real slapd.
check_PROGRAMS += tests/unit/test_ldap_groups
tests_unit_test_ldap_groups_SOURCES = tests/unit/test_ldap_groups.cpp $(UNIT_MAIN)
tests_unit_test_ldap_groups_LDADD = policy/libssm_policy.a directory/libssm_directory.a smime/cms/libssm_cms.a pki/libssm_pki.a \
	smime/mime/libssm_mime.a base/libssm_base.a $(UNIT_LIBS)

# RFC 5913 Authority Clearance Constraints along a certification path (pure intersection).
SSM_SOURCES_policy += policy/clearance_constraints.h policy/clearance_constraints.cpp

# Named and blind recipients; blind copies as MessageProcessor splits them (SoftHSM, OpenSSL).
check_PROGRAMS += tests/unit/test_blind_copies
tests_unit_test_blind_copies_SOURCES = tests/unit/test_blind_copies.cpp tests/unit/test_processor_support.h $(UNIT_MAIN)
tests_unit_test_blind_copies_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
