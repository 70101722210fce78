// PKI.js opens an EnvelopedData as a JavaScript MUA would: unenvelope.mjs --cert PEM --key PEM
// [--first] IN OUT. IN is a DER ContentInfo (untrusted). The RecipientInfo is the one naming
// CERT (by issuerAndSerialNumber or subjectKeyIdentifier; KTRI or KARI), or with --first the
// first one whoever it names (a negative control: another key must not open it); OUT gets the
// plaintext.
import { args, run, die, pkijs, asn1js, certificates, pkcs8, readBytes, writeBytes, buf, contentInfo, OID } from "./common.mjs";

export async function main(argv, print) {
  const { opts, pos } = args(argv, { values: ["cert", "key"], flags: ["first"] });
  if (pos.length !== 2 || !opts.cert || !opts.key) die("usage: unenvelope.mjs --cert PEM --key PEM IN OUT");

  const der = readBytes(pos[0]);
  const asn = asn1js.fromBER(buf(der));
  if (asn.offset === -1) die(`not BER: ${asn.result.error}`);
  const type = new pkijs.ContentInfo({ schema: asn.result }).contentType;
  if (type !== OID.envelopedData) die(`content type ${type}: PKI.js ${pkijs.EnvelopedData.name} reads ${OID.envelopedData} only`);
  const env = new pkijs.EnvelopedData({ schema: contentInfo(der, OID.envelopedData) });
  const [cert] = certificates(opts.cert);
  const index = opts.first ? 0 : env.recipientInfos.findIndex((ri) => names(ri, cert));
  if (index < 0) die(`no RecipientInfo names ${opts.cert} (kinds: ${env.recipientInfos.map((ri) => ri.variant).join(",")})`);
  const plain = await env.decrypt(index, { recipientCertificate: cert, recipientPrivateKey: buf(pkcs8(opts.key)) });
  writeBytes(pos[1], new Uint8Array(plain));
}
run(import.meta.url, main);

// names(RI, CERT): the RecipientInfo is meant for CERT.
function names(ri, cert) {
  const ski = (cert.extensions || []).find((e) => e.extnID === "2.5.29.14");
  const skiHex = ski ? Buffer.from(ski.parsedValue.valueBlock.valueHexView).toString("hex") : null;
  const byRid = (rid) => {
    if (rid instanceof pkijs.IssuerAndSerialNumber) return rid.issuer.isEqual(cert.issuer) && rid.serialNumber.isEqual(cert.serialNumber);
    if (rid instanceof pkijs.RecipientKeyIdentifier) return skiHex !== null && Buffer.from(rid.subjectKeyIdentifier.valueBlock.valueHexView).toString("hex") === skiHex;
    if (rid && rid.valueBlock) return skiHex !== null && Buffer.from(rid.valueBlock.valueHexView).toString("hex") === skiHex;
    return false;
  };
  if (ri.variant === 1) return byRid(ri.value.rid);
  if (ri.variant === 2) return ri.value.recipientEncryptedKeys.encryptedKeys.some((k) => byRid(k.rid.value));
  return false;
}
