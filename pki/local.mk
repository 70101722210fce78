# pki/: certificates, their facts, and the trust store (anchors, intermediates, CRLs).
noinst_LIBRARIES += pki/libssm_pki.a
pki_libssm_pki_a_SOURCES = \
	pki/certificate.h pki/certificate.cpp \
	pki/trust_store.h pki/trust_store.cpp

check_PROGRAMS += tests/unit/test_pki
tests_unit_test_pki_SOURCES = tests/unit/test_pki.cpp tests/unit/test_pki_support.h $(UNIT_MAIN)
tests_unit_test_pki_LDADD = pki/libssm_pki.a base/libssm_base.a $(UNIT_LIBS)
