# smime/cms/ SignedData verification (see verify.h), the streaming BER walker it shares with
# decrypt_stream, and the streaming transfer decoders of smime/mime/ that feed it. Kept apart
# from local.mk so both can change independently.
SSM_SOURCES_smime_cms += \
	smime/cms/ber_stream.h smime/cms/ber_stream.cpp \
	smime/cms/definite_lengths.h smime/cms/definite_lengths.cpp \
	smime/cms/object_end.h smime/cms/object_end.cpp \
	smime/cms/content_kind.h smime/cms/content_kind.cpp \
	smime/cms/verify_signature.h smime/cms/verify_signature.cpp \
	smime/cms/verify_stream.h smime/cms/verify_stream.cpp \
	smime/cms/verify.h smime/cms/verify.cpp

SSM_SOURCES_smime_mime += smime/mime/decoders.h smime/mime/decoders.cpp

check_PROGRAMS += tests/unit/test_cms_verify
tests_unit_test_cms_verify_SOURCES = tests/unit/test_cms_verify.cpp \
	tests/unit/test_cms_verify_peers.cpp tests/unit/test_cms_verify_pss.cpp tests/unit/test_cms_verify_attrs.cpp \
	tests/unit/test_cms_verify_trailing.cpp tests/unit/test_cms_definite_lengths.cpp \
	tests/unit/test_cms_verify_support.h $(UNIT_MAIN)
tests_unit_test_cms_verify_LDADD = smime/cms/libssm_cms.a smime/mime/libssm_mime.a \
	base/libssm_base.a $(UNIT_LIBS)
