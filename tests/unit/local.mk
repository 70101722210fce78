# Unit test programs shared pieces. Each module's local.mk adds its own test program:
#   check_PROGRAMS += tests/unit/test_X
#   tests_unit_test_X_SOURCES = tests/unit/test_X.cpp $(UNIT_MAIN)
#   tests_unit_test_X_LDADD = <its libraries> $(UNIT_LIBS)
UNIT_MAIN = tests/unit/cppunit_main.cpp tests/unit/test_support.h
UNIT_LIBS = $(SSM_UNITY_LIBS) $(CPPUNIT_LIBS) $(SSM_EXTERNAL_LIBS)

check_PROGRAMS += tests/unit/test_base
tests_unit_test_base_SOURCES = tests/unit/test_base.cpp tests/unit/test_mailbox_list.cpp tests/unit/test_eai_address.cpp \
	tests/unit/test_email_address.cpp $(UNIT_MAIN)
tests_unit_test_base_LDADD = base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_security_label
tests_unit_test_security_label_SOURCES = tests/unit/test_security_label.cpp $(UNIT_MAIN)
tests_unit_test_security_label_LDADD = smime/mime/libssm_mime.a smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_receipt
tests_unit_test_receipt_SOURCES = tests/unit/test_receipt.cpp $(UNIT_MAIN)
tests_unit_test_receipt_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)

# Receipts the gateway answers (RFC 2634 §2.3 decision, signed receipts checked by OpenSSL).
check_PROGRAMS += tests/unit/test_receipt_answer
tests_unit_test_receipt_answer_SOURCES = tests/unit/test_receipt_answer.cpp tests/unit/soft_signer.h \
	tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_receipt_answer_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test_receipt_collect
tests_unit_test_receipt_collect_SOURCES = tests/unit/test_receipt_collect.cpp tests/unit/soft_signer.h \
	tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_receipt_collect_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
# ESS mlExpansionHistory (RFC 2634 §4.3, PRODUCT §4.3).
check_PROGRAMS += tests/unit/test_ml_expansion
tests_unit_test_ml_expansion_SOURCES = tests/unit/test_ml_expansion.cpp $(UNIT_MAIN)
tests_unit_test_ml_expansion_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.cpp $(UNIT_MAIN)
tests_unit_test_metrics_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# Security labels in configuration, policy and the pipeline's label choices (PRODUCT §4.1).
check_PROGRAMS += tests/unit/test_labels
tests_unit_test_labels_SOURCES = tests/unit/test_labels.cpp $(UNIT_MAIN)
tests_unit_test_labels_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# Recipient clearances from the directory (RFC 5755 Clearance codec, precedence, config).
check_PROGRAMS += tests/unit/test_clearance
tests_unit_test_clearance_SOURCES = tests/unit/test_clearance.cpp $(UNIT_MAIN)
tests_unit_test_clearance_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# RFC 5913 Authority Clearance Constraints: the extension's decoder and the path intersection.
check_PROGRAMS += tests/unit/test_clearance_constraints
tests_unit_test_clearance_constraints_SOURCES = tests/unit/test_clearance_constraints.cpp $(UNIT_MAIN)
tests_unit_test_clearance_constraints_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)

# The addresses of a certificate as pki/ and hsm/ read them (one rule: base/certificate_mailboxes).
check_PROGRAMS += tests/unit/test_cert_mailboxes
tests_unit_test_cert_mailboxes_SOURCES = tests/unit/test_cert_mailboxes.cpp tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_cert_mailboxes_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a pki/libssm_pki.a base/libssm_base.a \
	$(UNIT_LIBS)
