# smime/cms/ EnvelopedData/AuthEnvelopedData decryption (see decrypt.h).
