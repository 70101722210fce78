# bench/: the raw token signing-rate helper used by bench/run.sh (not installed).
# Build: make bench/sign_rate
EXTRA_PROGRAMS += bench/sign_rate
bench_sign_rate_SOURCES = bench/sign_rate.cpp bench/parallel_rate.h
bench_sign_rate_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a base/libssm_base.a $(SSM_UNITY_LIBS) $(SSM_EXTERNAL_LIBS)
CLEANFILES += bench/sign_rate
# bench/decrypt_rate: the raw token decryption-rate helper used by bench/run-inbound.sh.
EXTRA_PROGRAMS += bench/decrypt_rate
bench_decrypt_rate_SOURCES = bench/decrypt_rate.cpp bench/parallel_rate.h
bench_decrypt_rate_LDADD = hsm/libssm_hsm.a smime/libssm_smime.a base/libssm_base.a $(SSM_UNITY_LIBS) $(SSM_EXTERNAL_LIBS)
CLEANFILES += bench/decrypt_rate
# bench/directory_bench: lookup-cache hits and misses against slapd, used by bench/run-directory.sh.
EXTRA_PROGRAMS += bench/directory_bench
bench_directory_bench_SOURCES = bench/directory_bench.cpp
bench_directory_bench_LDADD = directory/libssm_directory.a pki/libssm_pki.a base/libssm_base.a $(SSM_UNITY_LIBS) $(SSM_EXTERNAL_LIBS)
CLEANFILES += bench/directory_bench
# bench/null_milter: a libmilter program with ssm-milter's protocol profile and no S/MIME work,
# the floor any such milter costs Postfix (bench/run.sh rows "null milter").
EXTRA_PROGRAMS += bench/null_milter
bench_null_milter_SOURCES = bench/null_milter.cpp
bench_null_milter_LDADD = $(MILTER_LIBS) -lpthread
CLEANFILES += bench/null_milter
