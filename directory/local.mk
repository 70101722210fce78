# directory/: certificate sources (static folder, harvested certificates on LMDB; LDAP later)
# and the choice of a recipient's encryption certificate.
noinst_LIBRARIES += directory/libssm_directory.a
SSM_SOURCES_directory = \
	directory/certificate_source.h directory/certificate_source.cpp \
	directory/certificate_memo.h directory/certificate_memo.cpp \
	directory/static_folder.h directory/static_folder.cpp \
	directory/lmdb.h directory/lmdb.cpp \
	directory/record_codec.h \
	directory/harvest_store.h directory/harvest_store.cpp \
	directory/lookup_cache.h directory/lookup_cache.cpp \
	directory/certificate_choice.h directory/certificate_choice.cpp \
	directory/ldap_connection.h directory/ldap_connection.cpp \
	directory/ldap_source.h directory/ldap_source.cpp
# Group membership for the policy (from_group/to_group), on the same LDAP client.
SSM_SOURCES_directory += directory/ldap_groups.h directory/ldap_groups.cpp
# A group's members (member/uniqueMember, then each one's mail) for mail lists (PRODUCT §4.3).
SSM_SOURCES_directory += directory/ldap_group_members.h directory/ldap_group_members.cpp

check_PROGRAMS += tests/unit/test_directory
tests_unit_test_directory_SOURCES = tests/unit/test_directory.cpp tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_directory_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_ldap
tests_unit_test_ldap_SOURCES = tests/unit/test_ldap.cpp $(UNIT_MAIN)
tests_unit_test_ldap_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_lookup_cache
tests_unit_test_lookup_cache_SOURCES = tests/unit/test_lookup_cache.cpp $(UNIT_MAIN)
tests_unit_test_lookup_cache_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

# The LMDB layer against real files and processes: truncated data files, killed readers.
check_PROGRAMS += tests/unit/test_lmdb
tests_unit_test_lmdb_SOURCES = tests/unit/test_lmdb.cpp $(UNIT_MAIN)
tests_unit_test_lmdb_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_certificate_memo
tests_unit_test_certificate_memo_SOURCES = tests/unit/test_certificate_memo.cpp tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_certificate_memo_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

# Signed receipts (PRODUCT §4.2): requests made and receipts received, in the same LMDB folder.
SSM_SOURCES_directory += directory/receipt_store.h directory/receipt_store.cpp
check_PROGRAMS += tests/unit/test_receipt_store
tests_unit_test_receipt_store_SOURCES = tests/unit/test_receipt_store.cpp $(UNIT_MAIN)
tests_unit_test_receipt_store_LDADD = directory/libssm_directory.a smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)
# milter/receipts over the encoder, verifier and store, against receipts made by OpenSSL.
check_PROGRAMS += tests/unit/test_receipt_roundtrip
tests_unit_test_receipt_roundtrip_SOURCES = tests/unit/test_receipt_roundtrip.cpp \
	tests/unit/soft_signer.h tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_receipt_roundtrip_LDADD = $(SSM_CORE_LIBS) $(UNIT_LIBS)
# Recipients' clearances (RFC 5755 Clearance values of their entries) for security labels.
SSM_SOURCES_directory += directory/ldap_clearances.h directory/ldap_clearances.cpp
# DNS SMIMEA (RFC 8162) over a DNSSEC-validating libunbound resolver ([directory.smimea]).
SSM_SOURCES_directory += directory/smimea_record.h directory/smimea_record.cpp \
	directory/dns_resolver.h directory/dns_resolver.cpp \
	directory/smimea_source.h directory/smimea_source.cpp
check_PROGRAMS += tests/unit/test_smimea
tests_unit_test_smimea_SOURCES = tests/unit/test_smimea.cpp $(UNIT_MAIN)
tests_unit_test_smimea_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)
