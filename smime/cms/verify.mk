# smime/cms/ SignedData verification (see verify.h).
