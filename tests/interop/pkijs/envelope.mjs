// PKI.js EnvelopedData as a JavaScript MUA makes it: envelope.mjs --cipher aes-128-cbc|
// aes-192-cbc|aes-256-cbc|aes-128-gcm|aes-256-gcm --recip PEM [--recip PEM...] [--oaep-hash
// SHA-1|SHA-256|SHA-384|SHA-512] [--v15] [--kdf SHA-1|SHA-256|SHA-384|SHA-512] [--kek-length
// 128|256] IN OUT. An RSA certificate gets a KeyTransRecipientInfo (RSA-OAEP, PKI.js's only
// form unless --v15, which WebCrypto cannot do), an EC one a KeyAgreeRecipientInfo (ECDH,
// X9.63 KDF, AES key wrap). OUT is a DER ContentInfo.
import { args, run, die, pkijs, certificates, readBytes, writeBytes, buf, toContentInfo, OID } from "./common.mjs";

export async function main(argv, print) {
  const { opts, pos } = args(argv, { values: ["cipher", "oaep-hash", "kdf", "kek-length"], lists: ["recip"], flags: ["v15"] });
  if (pos.length !== 2 || !opts.recip) die("usage: envelope.mjs --cipher C --recip PEM... [options] IN OUT");

  const m = /^aes-(128|192|256)-(cbc|gcm)$/.exec(opts.cipher || "aes-256-cbc");
  if (!m) die(`unknown --cipher ${opts.cipher}`);
  const env = new pkijs.EnvelopedData();
  for (const file of opts.recip) {
    const [cert] = certificates(file);
    const params = { oaepHashAlgorithm: opts["oaep-hash"] || "SHA-256", kdfAlgorithm: opts.kdf || "SHA-256" };
    if (opts.v15) params.useOAEP = false;
    if (opts["kek-length"]) params.kekEncryptionLength = Number(opts["kek-length"]);
    env.addRecipientByCertificate(cert, params);
  }
  await env.encrypt({ name: `AES-${m[2].toUpperCase()}`, length: Number(m[1]) }, buf(readBytes(pos[0])));
  writeBytes(pos[1], toContentInfo(OID.envelopedData, env.toSchema()));
}
run(import.meta.url, main);
