# smime/mime: streaming MIME layer (header fields, structure scan, transfer encodings,
# the canonical entity that S/MIME signs, boundaries).
noinst_LIBRARIES += smime/mime/libssm_mime.a
SSM_SOURCES_smime_mime = \
	smime/mime/limits.h \
	smime/mime/line_reader.h smime/mime/line_reader.cpp \
	smime/mime/content_type.h smime/mime/content_type.cpp \
	smime/mime/header.h smime/mime/header.cpp \
	smime/mime/base64_lines.h smime/mime/base64_lines.cpp \
	smime/mime/encoders.h smime/mime/encoders.cpp \
	smime/mime/scanner.h smime/mime/scanner.cpp \
	smime/mime/body_facts.h smime/mime/body_facts.cpp \
	smime/mime/line_folder.h smime/mime/line_folder.cpp \
	smime/mime/text_charset.h smime/mime/text_charset.cpp \
	smime/mime/canonical.h smime/mime/canonical.cpp \
	smime/mime/boundary.h smime/mime/boundary.cpp

check_PROGRAMS += tests/unit/test_mime
tests_unit_test_mime_SOURCES = tests/unit/test_mime.cpp tests/unit/test_mime_canonical.cpp \
	tests/unit/test_encoded_words.cpp \
	tests/unit/test_mime_stream.cpp \
	tests/unit/test_mime_support.h $(UNIT_MAIN)
tests_unit_test_mime_LDADD = smime/mime/libssm_mime.a base/libssm_base.a $(UNIT_LIBS)
SSM_SOURCES_smime_mime += smime/mime/sio_label.h smime/mime/sio_label.cpp
SSM_SOURCES_smime_mime += smime/mime/encoded_words.h smime/mime/encoded_words.cpp
