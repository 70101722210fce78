// node-forge's PKCS#7 (forge.pkcs7, pure JavaScript, its own ASN.1 and RSA) as an S/MIME peer:
//   forge.mjs sign --cert PEM --key PEM [--chain PEM] [--hash sha256|sha384|sha512] [--detached]
//             [--no-attrs] IN OUT              SignedData, RSA PKCS#1 v1.5 (all forge signs)
//   forge.mjs envelope --cipher aes-128-cbc|aes-192-cbc|aes-256-cbc|des-ede3-cbc --recip PEM...
//             IN OUT                           EnvelopedData, KTRI RSA PKCS#1 v1.5 (all forge does)
//   forge.mjs unenvelope --cert PEM --key PEM [--first] IN OUT   (--first: the first
//             RecipientInfo whoever it names, a negative control)
// DER ContentInfo in and out. forge has no SignedData verification ("not yet implemented").
// The CMS objects read are untrusted; every failure prints forge's words and exits non-zero.
import { args, run, die, lib, readBytes, writeBytes, pemBlocks } from "./common.mjs";
import { readFileSync } from "node:fs";

const forge = lib("node-forge");
// binary strings, forge's byte form (not forge.util.binary.raw.encode: its apply() overflows the stack at 1.5 MB)
const bin = (u8) => Buffer.from(u8).toString("binary");
const unbin = (s) => new Uint8Array(Buffer.from(s, "binary"));
const certs = (file) => pemBlocks(file).filter((b) => b.label === "CERTIFICATE")
  .map((b) => forge.pki.certificateFromAsn1(forge.asn1.fromDer(bin(b.der))));
const key = (file) => forge.pki.privateKeyFromPem(readFileSync(file, "latin1"));
const toDer = (p7) => unbin(forge.asn1.toDer(p7.toAsn1()).getBytes());

const commands = {
  sign(argv) {
    const { opts, pos } = args(argv, { values: ["cert", "key", "chain", "hash"], flags: ["detached", "no-attrs"] });
    if (pos.length !== 2 || !opts.cert || !opts.key) die("usage: forge.mjs sign --cert PEM --key PEM [options] IN OUT");
    const [cert] = certs(opts.cert);
    const p7 = forge.pkcs7.createSignedData();
    p7.content = forge.util.createBuffer(bin(readBytes(pos[0])));
    for (const c of [cert, ...(opts.chain ? certs(opts.chain) : [])]) p7.addCertificate(c);
    const hash = opts.hash || "sha256";
    if (!forge.pki.oids[hash]) die(`unknown --hash ${hash}`);
    p7.addSigner({
      key: key(opts.key),
      certificate: cert,
      digestAlgorithm: forge.pki.oids[hash],
      authenticatedAttributes: opts["no-attrs"] ? undefined : [
        { type: forge.pki.oids.contentType, value: forge.pki.oids.data },
        { type: forge.pki.oids.messageDigest },
        { type: forge.pki.oids.signingTime, value: new Date() },
      ],
    });
    p7.sign({ detached: !!opts.detached });
    writeBytes(pos[1], toDer(p7));
  },
  envelope(argv) {
    const { opts, pos } = args(argv, { values: ["cipher"], lists: ["recip"] });
    if (pos.length !== 2 || !opts.recip) die("usage: forge.mjs envelope --cipher C --recip PEM... IN OUT");
    const oid = { "aes-128-cbc": "aes128-CBC", "aes-192-cbc": "aes192-CBC", "aes-256-cbc": "aes256-CBC", "des-ede3-cbc": "des-EDE3-CBC" }[opts.cipher || "aes-256-cbc"];
    if (!oid) die(`unknown --cipher ${opts.cipher}`);
    const p7 = forge.pkcs7.createEnvelopedData();
    for (const file of opts.recip) p7.addRecipient(certs(file)[0]);
    p7.content = forge.util.createBuffer(bin(readBytes(pos[0])));
    p7.encrypt(undefined, forge.pki.oids[oid]);
    writeBytes(pos[1], toDer(p7));
  },
  unenvelope(argv) {
    const { opts, pos } = args(argv, { values: ["cert", "key"], flags: ["first"] });
    if (pos.length !== 2 || !opts.cert || !opts.key) die("usage: forge.mjs unenvelope --cert PEM --key PEM IN OUT");
    const p7 = forge.pkcs7.messageFromAsn1(forge.asn1.fromDer(bin(readBytes(pos[0]))));
    if (!p7.findRecipient) die("not an EnvelopedData");
    const recipient = opts.first ? p7.recipients[0] : p7.findRecipient(certs(opts.cert)[0]);
    if (!recipient) die(`no RecipientInfo names ${opts.cert}`);
    p7.decrypt(recipient, key(opts.key));
    if (!p7.content) die("forge returned no content");
    writeBytes(pos[1], unbin(p7.content.getBytes()));
  },
};
// main(ARGV): the subcommand ARGV[0] with the options after it.
export async function main(argv) {
  if (!Object.hasOwn(commands, argv[0] || "")) die("usage: forge.mjs sign|envelope|unenvelope ...");
  commands[argv[0]](argv.slice(1));
}
run(import.meta.url, main);
