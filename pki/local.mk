# pki/: certificates, their facts, the trust store (anchors, intermediates, CRLs), path building,
# required policies and online revocation (OCSP, CRL distribution points over libcurl).
noinst_LIBRARIES += pki/libssm_pki.a
SSM_SOURCES_pki = \
	pki/certificate.h pki/certificate.cpp \
	pki/pkcs7_bundle.h pki/pkcs7_bundle.cpp \
	pki/trust_store.h pki/trust_store.cpp pki/trust_store_validate.cpp pki/trust_store_crl_signer.cpp \
	pki/anchor_scope.h pki/anchor_scope.cpp \
	pki/crl_scope.h pki/crl_scope.cpp \
	pki/crl_entries.h pki/crl_entries.cpp \
	pki/crl_set.h pki/crl_set.cpp \
	pki/path_builder.h pki/path_builder.cpp \
	pki/policies.h pki/policies.cpp \
	pki/ca_constraints.h pki/ca_constraints.cpp \
	pki/general_names.h pki/general_names.cpp pki/name_match.h pki/name_match.cpp \
	pki/name_constraints.h pki/name_constraints.cpp pki/signer_constraints.h pki/signer_constraints.cpp \
	pki/certificate_signature.h pki/certificate_signature.cpp \
	pki/http_fetcher.h pki/http_fetcher.cpp \
	pki/revocation.h pki/revocation.cpp pki/ocsp_client.cpp pki/ocsp_responder.h pki/ocsp_responder.cpp \
	pki/revocation_budget.h

check_PROGRAMS += tests/unit/test_pki
tests_unit_test_pki_SOURCES = tests/unit/test_pki.cpp tests/unit/test_pki_paths.cpp tests/unit/test_pki_crls.cpp \
	tests/unit/test_pki_name_constraints.cpp tests/unit/test_pki_anchor_scope.cpp tests/unit/test_pki_eai.cpp \
	tests/unit/test_pki_pss_keys.cpp tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_pki_LDADD = pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_revocation
tests_unit_test_revocation_SOURCES = tests/unit/test_revocation.cpp tests/unit/test_revocation_responder.cpp \
	tests/unit/test_revocation_support.h \
	tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_revocation_LDADD = pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)
