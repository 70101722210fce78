// PKI.js SignedData as a JavaScript MUA makes it: sign.mjs --cert PEM --key PEM [--chain PEM]
// [--alg rsa|pss|ecdsa] [--hash SHA-256|SHA-384|SHA-512] [--sid ias|ski] [--detached]
// [--no-certs] [--no-attrs] IN OUT. OUT is a DER ContentInfo; the signed attributes are
// contentType, signingTime and messageDigest (computed here, as PKI.js's own examples do).
import { args, run, die, pkijs, asn1js, crypto, certificates, pkcs8, readBytes, writeBytes, buf, toContentInfo, OID } from "./common.mjs";

export async function main(argv, print) {
  const { opts, pos } = args(argv, { values: ["cert", "key", "chain", "alg", "hash", "sid"], flags: ["detached", "no-certs", "no-attrs"] });
  if (pos.length !== 2 || !opts.cert || !opts.key) die("usage: sign.mjs --cert PEM --key PEM [options] IN OUT");

  const [cert] = certificates(opts.cert);
  const chain = opts.chain ? certificates(opts.chain) : [];
  const hash = opts.hash || "SHA-256";
  const alg = opts.alg || "rsa";
  const importAlg = {
    rsa: { name: "RSASSA-PKCS1-v1_5", hash },
    pss: { name: "RSA-PSS", hash },
    ecdsa: { name: "ECDSA", namedCurve: alg === "ecdsa" ? curveOf(cert) : "", hash },
  }[alg];
  if (!importAlg) die(`unknown --alg ${alg}`);
  const key = await crypto.subtle.importKey("pkcs8", pkcs8(opts.key), importAlg, false, ["sign"]);
  const data = readBytes(pos[0]);

  let sid;
  if ((opts.sid || "ias") === "ias") {
    sid = new pkijs.IssuerAndSerialNumber({ issuer: cert.issuer, serialNumber: cert.serialNumber });
  } else {
    const ext = (cert.extensions || []).find((e) => e.extnID === "2.5.29.14");
    if (!ext) die("the certificate has no subjectKeyIdentifier");
    sid = new asn1js.Primitive({ idBlock: { tagClass: 3, tagNumber: 0 }, valueHex: ext.parsedValue.valueBlock.valueHexView.slice().buffer });
  }
  const signerInfo = new pkijs.SignerInfo({ version: opts.sid === "ski" ? 3 : 1, sid });
  if (!opts["no-attrs"]) {
    const digest = await crypto.subtle.digest(hash, data);
    signerInfo.signedAttrs = new pkijs.SignedAndUnsignedAttributes({
      type: 0,
      attributes: [
        new pkijs.Attribute({ type: "1.2.840.113549.1.9.3", values: [new asn1js.ObjectIdentifier({ value: OID.data })] }),
        new pkijs.Attribute({ type: "1.2.840.113549.1.9.5", values: [new asn1js.UTCTime({ valueDate: new Date() })] }),
        new pkijs.Attribute({ type: "1.2.840.113549.1.9.4", values: [new asn1js.OctetString({ valueHex: digest })] }),
      ],
    });
  }
  const signed = new pkijs.SignedData({
    version: opts.sid === "ski" ? 3 : 1,
    encapContentInfo: new pkijs.EncapsulatedContentInfo({
      eContentType: OID.data,
      ...(opts.detached ? {} : { eContent: new asn1js.OctetString({ valueHex: buf(data) }) }),
    }),
    signerInfos: [signerInfo],
    ...(opts["no-certs"] ? {} : { certificates: [cert, ...chain] }),
  });
  await signed.sign(key, 0, hash, opts.detached ? buf(data) : undefined);
  writeBytes(pos[1], toContentInfo(OID.signedData, signed.toSchema(true)));
}
run(import.meta.url, main);

function curveOf(cert) {
  const oid = cert.subjectPublicKeyInfo.algorithm.algorithmParams.valueBlock.toString();
  const curve = { "1.2.840.10045.3.1.7": "P-256", "1.3.132.0.34": "P-384", "1.3.132.0.35": "P-521" }[oid];
  if (!curve) die(`unknown curve ${oid}`);
  return curve;
}
