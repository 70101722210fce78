// Shared set-up of the JavaScript S/MIME peers (PKI.js over Node's WebCrypto, node-forge):
// loads the modules scripts/install-deps.sh put in $SSM_NPM_DIR, reads PEM/DER files and
// parses command lines. Inputs are test files; the CMS objects read are untrusted, and every
// failure ends the operation with the library's own words: a non-zero status from the command
// line (run), a FAIL status from server.mjs (one process for a whole test run).
import { createRequire } from "node:module";
import { readFileSync, writeFileSync } from "node:fs";
import { webcrypto } from "node:crypto";
import { pathToFileURL } from "node:url";
import path from "node:path";

// toolName(SCRIPT): the program name in error lines ("pkijs-sign: ...", "forge: ...").
export const toolName = (script) => (script === "forge" ? "forge" : `pkijs-${script}`);

const npmDir = process.env.SSM_NPM_DIR || "/var/cache/ssm-milter/npm";
const require = createRequire(path.join(npmDir, "package.json"));

// lib(NAME): a module of the pinned set; a missing one is an error naming the fix.
export function lib(name) {
  try {
    return require(name);
  } catch (e) {
    die(`cannot load ${name} from ${npmDir}/node_modules (run scripts/install-deps.sh): ${e.message}`);
  }
}

export const asn1js = lib("asn1js");
export const pkijs = lib("pkijs");
export const crypto = webcrypto;
pkijs.setEngine("node-webcrypto", new pkijs.CryptoEngine({ name: "node-webcrypto", crypto: webcrypto }));

// die(MESSAGE): the operation fails with MESSAGE (its caller prints it after the tool name).
export class PeerError extends Error {}
export function die(message) {
  throw new PeerError(message);
}

// errorText(E): the words of a failure: ours (die) or the library's exception.
export const errorText = (e) => (e && e.message ? e.message : String(e));

// run(URL, MAIN): when the module at URL is the program node was started with, awaits
// MAIN(ARGV, PRINT) with the command line and stdout; a failure prints "TOOL: words" on stderr
// and exits 1.
export function run(url, main) {
  if (!process.argv[1] || pathToFileURL(path.resolve(process.argv[1])).href !== url) return;
  const tool = toolName(path.basename(process.argv[1], ".mjs"));
  main(process.argv.slice(2), (text) => process.stdout.write(text)).catch((e) => {
    process.stderr.write(`${tool}: ${errorText(e)}\n`);
    process.exit(1);
  });
}

// args(ARGV, SPEC): --name value options (SPEC lists which are repeatable and which are flags),
// and the positional arguments.
export function args(argv, spec) {
  const opts = {}, pos = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (!a.startsWith("--")) { pos.push(a); continue; }
    const name = a.slice(2);
    if (spec.flags && spec.flags.includes(name)) { opts[name] = true; continue; }
    if (!(spec.values || []).includes(name) && !(spec.lists || []).includes(name)) die(`unknown option ${a}`);
    if (i + 1 >= argv.length) die(`${a} needs a value`);
    if ((spec.lists || []).includes(name)) (opts[name] = opts[name] || []).push(argv[++i]);
    else opts[name] = argv[++i];
  }
  return { opts, pos };
}

export const readBytes = (file) => new Uint8Array(readFileSync(file));
export const writeBytes = (file, bytes) => writeFileSync(file, Buffer.from(bytes));
// buf(U8): a fresh ArrayBuffer holding exactly the octets of U8 (PKI.js takes ArrayBuffers).
export const buf = (u8) => u8.buffer.slice(u8.byteOffset, u8.byteOffset + u8.byteLength);

// pemBlocks(FILE): the DER of every PEM block in FILE (certificates, PKCS#8 keys).
export function pemBlocks(file) {
  const text = readFileSync(file, "latin1");
  const out = [];
  for (const m of text.matchAll(/-----BEGIN ([A-Z ]+)-----([^-]+)-----END \1-----/g)) {
    out.push({ label: m[1], der: new Uint8Array(Buffer.from(m[2].replace(/\s+/g, ""), "base64")) });
  }
  if (!out.length) die(`${file}: no PEM block`);
  return out;
}

export function certificates(file) {
  return pemBlocks(file).filter((b) => b.label === "CERTIFICATE").map((b) => pkijs.Certificate.fromBER(buf(b.der)));
}

// pkcs8(FILE): the DER of the PKCS#8 private key in FILE ("BEGIN PRIVATE KEY", as openssl genpkey).
export function pkcs8(file) {
  const b = pemBlocks(file).find((x) => x.label === "PRIVATE KEY");
  if (!b) die(`${file}: no PKCS#8 "PRIVATE KEY" block`);
  return b.der;
}

export function certPem(cert) {
  const b64 = Buffer.from(cert.toSchema().toBER(false)).toString("base64");
  return `-----BEGIN CERTIFICATE-----\n${b64.match(/.{1,64}/g).join("\n")}\n-----END CERTIFICATE-----\n`;
}

// dn(NAME): a distinguished name "CN=...,O=..." (most specific first, as OpenSSL's RFC 2253).
const short = { "2.5.4.3": "CN", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.6": "C", "1.2.840.113549.1.9.1": "emailAddress" };
export function dn(name) {
  return name.typesAndValues.map((tv) => `${short[tv.type] || tv.type}=${tv.value.valueBlock.value}`).reverse().join(",");
}

// contentInfo(DER, OID): the content of a ContentInfo of type OID.
export function contentInfo(der, oid) {
  const asn = asn1js.fromBER(buf(der));
  if (asn.offset === -1) die(`not BER: ${asn.result.error}`);
  const ci = new pkijs.ContentInfo({ schema: asn.result });
  if (ci.contentType !== oid) die(`content type ${ci.contentType}, expected ${oid}`);
  return ci.content;
}

export function toContentInfo(oid, schema) {
  return new Uint8Array(new pkijs.ContentInfo({ contentType: oid, content: schema }).toSchema().toBER(false));
}

export const OID = {
  data: "1.2.840.113549.1.7.1",
  signedData: "1.2.840.113549.1.7.2",
  envelopedData: "1.2.840.113549.1.7.3",
  authEnvelopedData: "1.2.840.113549.1.9.16.1.23",
};
