# smime/cms/: the CMS codec layer (namespace ssm::smime::cms): the cms.asn module compiled
# by asn1Parser at build time, libtasn1 wrappers, SignedData and (Auth)EnvelopedData
# encoders, decoders.
noinst_LIBRARIES += smime/cms/libssm_cms.a
SSM_SOURCES_smime_cms = \
	smime/cms/asn1.h smime/cms/asn1.cpp \
	smime/cms/oids.h \
	smime/cms/der_length.h smime/cms/der_length.cpp \
	smime/cms/digest.h smime/cms/digest.cpp \
	smime/cms/algorithm_ids.h smime/cms/algorithm_ids.cpp \
	smime/cms/certificate_id.h smime/cms/certificate_id.cpp \
	smime/cms/signed_attributes.h smime/cms/signed_attributes.cpp \
	smime/cms/signed_data.h smime/cms/signed_data.cpp \
	smime/cms/decode.h smime/cms/decode.cpp \
	smime/cms/secret_bytes.h \
	smime/cms/content_cipher.h smime/cms/content_cipher.cpp \
	smime/cms/chacha_poly1305.h smime/cms/chacha_poly1305.cpp \
	smime/cms/recipient_key.h smime/cms/recipient_key.cpp \
	smime/cms/key_transport.h smime/cms/key_transport.cpp \
	smime/cms/key_agreement.h smime/cms/key_agreement.cpp \
	smime/cms/recipient_info.h smime/cms/recipient_info.cpp \
	smime/cms/envelope.h smime/cms/envelope.cpp \
	smime/cms/enveloped_decode.h smime/cms/enveloped_decode.cpp \
	smime/cms/constant_time.h

# The generated table is C; asn1.cpp #includes it (see the comment there), so it is not a
# _SOURCES entry. The explicit dependency makes `make smime/cms/libssm_cms.a` (or a test
# target) generate it even when BUILT_SOURCES is not consulted.
smime/cms/cms_asn1_tab.c: $(srcdir)/smime/cms/cms.asn
	$(AM_V_GEN)$(MKDIR_P) smime/cms && \
	$(ASN1PARSER) -o $@.tmp -n cms_asn1_tab $(srcdir)/smime/cms/cms.asn >/dev/null && \
	mv -f $@.tmp $@
smime/cms/asn1.$(OBJEXT): smime/cms/cms_asn1_tab.c
BUILT_SOURCES += smime/cms/cms_asn1_tab.c
CLEANFILES += smime/cms/cms_asn1_tab.c
EXTRA_DIST += smime/cms/cms.asn

check_PROGRAMS += tests/unit/test_cms
tests_unit_test_cms_SOURCES = tests/unit/test_cms.cpp tests/unit/test_cms_attributes.cpp \
	tests/unit/test_cms_codec.cpp tests/unit/test_cms_support.h \
	tests/unit/soft_signer.h tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_cms_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_cms_envelope
tests_unit_test_cms_envelope_SOURCES = tests/unit/test_cms_envelope.cpp \
	tests/unit/test_cms_envelope_parts.cpp tests/unit/test_cms_envelope_support.h \
	tests/unit/test_cms_support.h tests/unit/soft_signer.h tests/unit/soft_signer.cpp $(UNIT_MAIN)
tests_unit_test_cms_envelope_LDADD = smime/cms/libssm_cms.a base/libssm_base.a $(UNIT_LIBS)
SSM_SOURCES_smime_cms += smime/cms/security_label.h smime/cms/security_label.cpp
SSM_SOURCES_smime_cms += smime/cms/receipt.h smime/cms/receipt.cpp
SSM_SOURCES_smime_cms += smime/cms/clearance.h smime/cms/clearance.cpp
SSM_SOURCES_smime_cms += smime/cms/receipt_sign.h smime/cms/receipt_sign.cpp
SSM_SOURCES_smime_cms += smime/cms/general_names.h smime/cms/general_names.cpp smime/cms/ml_expansion.h smime/cms/ml_expansion.cpp
