// PKI.js verifies a SignedData as a JavaScript MUA would: verify.mjs --root PEM [--content FILE]
// [--signer-out PEM] IN OUT. IN is a DER ContentInfo (untrusted). Success (exit 0) needs
// exactly one SignerInfo, its signature verified and a chain from the signer certificate through
// the message's certificates to ROOT, the only trust anchor. Prints "signer: DN / ISSUER" and
// "signature: ALGORITHM-OID"; OUT gets the content PKI.js vouches for (for a detached
// signature, the content it was handed).
import { args, run, die, pkijs, certificates, readBytes, writeBytes, buf, contentInfo, certPem, dn, OID } from "./common.mjs";
import { writeFileSync } from "node:fs";

export async function main(argv, print) {
  const { opts, pos } = args(argv, { values: ["root", "content", "signer-out"] });
  if (pos.length !== 2 || !opts.root) die("usage: verify.mjs --root PEM [--content FILE] [--signer-out PEM] IN OUT");

  const signed = new pkijs.SignedData({ schema: contentInfo(readBytes(pos[0]), OID.signedData) });
  if (signed.signerInfos.length !== 1) die(`${signed.signerInfos.length} signers`);
  if (signed.encapContentInfo.eContentType !== OID.data) die(`eContentType ${signed.encapContentInfo.eContentType}`);
  const detached = opts.content !== undefined;
  const eContent = signed.encapContentInfo.eContent;
  if (detached && eContent) die("--content given, but the SignedData holds its content");
  if (!detached && !eContent) die("a detached signature, but no --content");
  const data = detached ? readBytes(opts.content) : new Uint8Array(eContent.getValue());
  const res = await signed.verify({
    signer: 0,
    data: buf(data),
    trustedCerts: certificates(opts.root),
    checkChain: true,
    extendedMode: true,
  });
  // extendedMode: the verdict is in the result (a failure may also throw, with its message)
  if (!res.signatureVerified) die(`signature not verified: ${res.message || res.code}`);
  if (!res.signerCertificateVerified) die(`signer certificate not verified: ${res.message || res.code}`);
  const cert = res.signerCertificate;
  print(`signer: ${dn(cert.subject)} / ${dn(cert.issuer)}\nsignature: ${signed.signerInfos[0].signatureAlgorithm.algorithmId}\n`);
  if (opts["signer-out"]) writeFileSync(opts["signer-out"], certPem(cert));
  writeBytes(pos[1], data);
}
run(import.meta.url, main);
