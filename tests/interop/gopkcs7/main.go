// Go's pkcs7 library (github.com/fullsailor/pkcs7, Debian golang-github-fullsailor-pkcs7-dev: an
// independent DER/crypto implementation on Go's standard crypto) as an S/MIME peer for the
// interop tests. The library makes and reads only CMS; this program puts RFC 8551 MIME
// wrappers around what it makes and takes them off what ssm-milter made, the way a Go service
// built on it would. Messages from ssm-milter are parsed as untrusted (every failure is
// reported); keys and certificates come from the test PKI.
//
// Usage:
//
//	gopkcs7 batch FILE          one operation per line (blank lines and # comments skipped)
//	gopkcs7 OP ID KEY=VALUE...  one operation
//
// Operations (each answers one line "OK ID key=value..." or "FAIL ID reason" on stdout):
//
//	sign    in= out= cert= key= [chain=] form=detached|opaque [digest=sha1|sha256|sha384|sha512]
//	        [attrs=none] (no signedAttrs) [caps=1] (SMIMECapabilities) [unsigned=1] (an unsigned attribute)
//	        [cert2= key2=] (a second signer, the same chain)
//	encrypt in= out= rcpt=CERT[,CERT...] cipher=aes128-cbc|aes256-cbc|des-cbc|aes128-gcm|aes256-gcm
//	        (RSA PKCS#1 v1.5 key transport, the only one the library has; its GCM goes into an
//	        EnvelopedData, which RFC 5084 §3 does not allow: smime-type=enveloped-data)
//	verify  in= ca=ROOT [content=OUT]   every signer verifies, its certificate chains to ROOT
//	decrypt in= out= cert= key=        EnvelopedData (the library reads no AuthEnvelopedData)
//
// The batch exits 1 when any operation failed.
package main

import (
	"bufio"
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"mime"
	"os"
	"strings"

	"github.com/fullsailor/pkcs7"
)

func main() {
	if len(os.Args) == 3 && os.Args[1] == "batch" {
		f, err := os.Open(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		ok := true
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			ok = run(strings.Fields(line)) && ok
		}
		if !ok {
			os.Exit(1)
		}
		return
	}
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: gopkcs7 batch FILE | gopkcs7 OP ID KEY=VALUE...")
		os.Exit(64)
	}
	if !run(os.Args[1:]) {
		os.Exit(1)
	}
}

type args map[string]string

func (a args) need(k string) (string, error) {
	if v := a[k]; v != "" {
		return v, nil
	}
	return "", fmt.Errorf("missing %s=", k)
}

func (a args) or(k, def string) string {
	if v := a[k]; v != "" {
		return v
	}
	return def
}

func run(words []string) bool {
	op, id := words[0], "?"
	if len(words) > 1 {
		id = words[1]
	}
	a := args{}
	for _, w := range words[min(2, len(words)):] {
		eq := strings.IndexByte(w, '=')
		if eq <= 0 {
			report(false, id, "bad argument "+w)
			return false
		}
		a[w[:eq]] = w[eq+1:]
	}
	var result string
	var err error
	func() {
		defer func() { // the library panics on some malformed input: a FAIL, not a crash
			if r := recover(); r != nil {
				err = fmt.Errorf("panic: %v", r)
			}
		}()
		switch op {
		case "sign":
			result, err = sign(a)
		case "encrypt":
			result, err = encrypt(a)
		case "verify":
			result, err = verify(a)
		case "decrypt":
			result, err = decrypt(a)
		default:
			err = errors.New("unknown operation " + op)
		}
	}()
	if err != nil {
		report(false, id, err.Error())
		return false
	}
	report(true, id, result)
	return true
}

func min(a, b int) int {
	if a < b {
		return a
	}
	return b
}

func report(ok bool, id, text string) {
	word := "FAIL "
	if ok {
		word = "OK "
	}
	text = strings.NewReplacer("\n", " ", "\r", " ", "\t", " ").Replace(text)
	fmt.Printf("%s%s %s\n", word, id, text)
}

// --- keys and certificates ------------------------------------------------------------------
func readCerts(path string) ([]*x509.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []*x509.Certificate
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, c)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no certificate", path)
	}
	return out, nil
}

func readCert(path string) (*x509.Certificate, error) {
	cs, err := readCerts(path)
	if err != nil {
		return nil, err
	}
	return cs[0], nil
}

func readKey(path string) (crypto.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			return nil, fmt.Errorf("%s: no unencrypted private key", path)
		}
		switch b.Type {
		case "PRIVATE KEY":
			return x509.ParsePKCS8PrivateKey(b.Bytes)
		case "RSA PRIVATE KEY":
			return x509.ParsePKCS1PrivateKey(b.Bytes)
		case "EC PRIVATE KEY":
			return x509.ParseECPrivateKey(b.Bytes)
		}
	}
}

func emailOf(c *x509.Certificate) string {
	if len(c.EmailAddresses) > 0 {
		return c.EmailAddresses[0]
	}
	return "-"
}

// --- messages -------------------------------------------------------------------------------
// message: a file split into the outer header fields (everything but Content-* and
// MIME-Version, still folded), the Content-* fields and the body, all with CRLF line ends.
type message struct {
	outer   []string
	content []string
	body    []byte
}

func readMessage(path string) (*message, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	m := bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n"))
	m = bytes.ReplaceAll(m, []byte("\n"), []byte("\r\n"))
	head, body := m, []byte{}
	if i := bytes.Index(m, []byte("\r\n\r\n")); i >= 0 {
		head, body = m[:i], m[i+4:]
	} else if bytes.HasPrefix(m, []byte("\r\n")) {
		head, body = nil, m[2:]
	}
	msg := &message{body: body}
	var fields []string
	for _, line := range strings.Split(string(head), "\r\n") {
		if line == "" {
			continue
		}
		if (line[0] == ' ' || line[0] == '\t') && len(fields) > 0 {
			fields[len(fields)-1] += "\r\n" + line
			continue
		}
		fields = append(fields, line)
	}
	for _, f := range fields {
		lower := strings.ToLower(f)
		switch {
		case strings.HasPrefix(lower, "content-"):
			msg.content = append(msg.content, f)
		case strings.HasPrefix(lower, "mime-version:"):
		default:
			msg.outer = append(msg.outer, f)
		}
	}
	return msg, nil
}

// entity: the MIME entity (Content-* fields, empty line, body) that is signed or encrypted.
func (m *message) entity() []byte {
	var b bytes.Buffer
	for _, f := range m.content {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("\r\n")
	b.Write(m.body)
	return b.Bytes()
}

// field: the unfolded value of the first header field NAME among the Content-* fields.
func (m *message) field(name string) string {
	for _, f := range m.content {
		if i := strings.IndexByte(f, ':'); i > 0 && strings.EqualFold(f[:i], name) {
			v := strings.NewReplacer("\r\n ", " ", "\r\n\t", " ").Replace(f[i+1:])
			return strings.TrimSpace(v)
		}
	}
	return ""
}

func base64Lines(der []byte) string {
	s := base64.StdEncoding.EncodeToString(der)
	var b strings.Builder
	for len(s) > 76 {
		b.WriteString(s[:76] + "\r\n")
		s = s[76:]
	}
	b.WriteString(s + "\r\n")
	return b.String()
}

func writeMessage(path string, outer []string, top string) error {
	var b strings.Builder
	for _, f := range outer {
		b.WriteString(f + "\r\n")
	}
	b.WriteString("MIME-Version: 1.0\r\n")
	b.WriteString(top)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

func pkcs7Part(der []byte, smimeType string) string {
	return "Content-Type: application/pkcs7-mime; smime-type=" + smimeType + "; name=\"smime.p7m\"\r\n" +
		"Content-Transfer-Encoding: base64\r\n" +
		"Content-Disposition: attachment; filename=\"smime.p7m\"\r\n\r\n" + base64Lines(der)
}

func decodeBase64Body(body []byte) ([]byte, error) {
	clean := bytes.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == ' ' || r == '\t' {
			return -1
		}
		return r
	}, body)
	return base64.StdEncoding.DecodeString(string(clean))
}

// --- sign -----------------------------------------------------------------------------------
var (
	oidSMIMECapabilities = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 15}
	oidUnknownAttribute  = asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 99999, 1}
)

type capability struct {
	Algorithm asn1.ObjectIdentifier
}

var digests = map[string]asn1.ObjectIdentifier{
	"sha1":   pkcs7.OIDDigestAlgorithmSHA1, // the library's default
	"sha256": pkcs7.OIDDigestAlgorithmSHA256,
	"sha384": pkcs7.OIDDigestAlgorithmSHA384,
	"sha512": pkcs7.OIDDigestAlgorithmSHA512,
}

func sign(a args) (string, error) {
	in, err := a.need("in")
	if err != nil {
		return "", err
	}
	out, err := a.need("out")
	if err != nil {
		return "", err
	}
	certPath, err := a.need("cert")
	if err != nil {
		return "", err
	}
	keyPath, err := a.need("key")
	if err != nil {
		return "", err
	}
	msg, err := readMessage(in)
	if err != nil {
		return "", err
	}
	cert, err := readCert(certPath)
	if err != nil {
		return "", err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return "", err
	}
	var parents []*x509.Certificate
	if p := a["chain"]; p != "" {
		if parents, err = readCerts(p); err != nil {
			return "", err
		}
	}
	digest := a.or("digest", "sha256")
	oid, ok := digests[digest]
	if !ok {
		return "", errors.New("digest=" + digest)
	}
	entity := msg.entity()
	sd, err := pkcs7.NewSignedData(entity)
	if err != nil {
		return "", err
	}
	sd.SetDigestAlgorithm(oid)
	var config pkcs7.SignerInfoConfig
	if a["unsigned"] == "1" { // an unsigned attribute the receiver does not know
		config.ExtraUnsignedAttributes = []pkcs7.Attribute{{Type: oidUnknownAttribute, Value: "gopkcs7 unsigned"}}
	}
	if a["caps"] == "1" { // SMIMECapabilities (RFC 8551 §2.5.2) as an extra signed attribute
		config.ExtraSignedAttributes = []pkcs7.Attribute{{Type: oidSMIMECapabilities, Value: []capability{
			{Algorithm: pkcs7.OIDEncryptionAlgorithmAES256CBC}, {Algorithm: pkcs7.OIDEncryptionAlgorithmAES128CBC}}}}
	}
	switch a.or("attrs", "signed") {
	case "signed":
		if err := sd.AddSignerChain(cert, key, parents, config); err != nil {
			return "", err
		}
	case "none": // no signedAttrs: the signature is over the content itself (RFC 5652 §5.4)
		if err := sd.SignWithoutAttr(cert, key, config); err != nil {
			return "", err
		}
		for _, p := range parents {
			sd.AddCertificate(p)
		}
	default:
		return "", errors.New("attrs=" + a["attrs"])
	}
	if p := a["cert2"]; p != "" { // a second signer: the library repeats the digest algorithm
		cert2, err := readCert(p) // and the chain certificates for it
		if err != nil {
			return "", err
		}
		key2, err := readKey(a["key2"])
		if err != nil {
			return "", err
		}
		if err := sd.AddSignerChain(cert2, key2, parents, config); err != nil {
			return "", err
		}
	}
	form := a.or("form", "detached")
	var top string
	switch form {
	case "detached":
		sd.Detach()
		der, err := sd.Finish()
		if err != nil {
			return "", err
		}
		boundary := "----=_gopkcs7_" + randomHex(12)
		micalg := map[string]string{"sha1": "sha-1", "sha256": "sha-256", "sha384": "sha-384", "sha512": "sha-512"}[digest]
		top = "Content-Type: multipart/signed; protocol=\"application/pkcs7-signature\"; micalg=" + micalg +
			";\r\n\tboundary=\"" + boundary + "\"\r\n\r\n" +
			"This is an S/MIME signed message\r\n\r\n--" + boundary + "\r\n" + string(entity) +
			"\r\n--" + boundary + "\r\n" +
			"Content-Type: application/pkcs7-signature; name=\"smime.p7s\"\r\n" +
			"Content-Transfer-Encoding: base64\r\n" +
			"Content-Disposition: attachment; filename=\"smime.p7s\"\r\n\r\n" + base64Lines(der) +
			"\r\n--" + boundary + "--\r\n"
	case "opaque":
		der, err := sd.Finish()
		if err != nil {
			return "", err
		}
		top = pkcs7Part(der, "signed-data")
	default:
		return "", errors.New("form=" + form)
	}
	if err := writeMessage(out, msg.outer, top); err != nil {
		return "", err
	}
	return "form=" + form + " digest=" + digest + " key=" + keyKind(key), nil
}

func keyKind(k crypto.PrivateKey) string {
	switch k := k.(type) {
	case *rsa.PrivateKey:
		return fmt.Sprintf("rsa%d", k.N.BitLen())
	case *ecdsa.PrivateKey:
		return "ecdsa-" + k.Curve.Params().Name
	}
	return fmt.Sprintf("%T", k)
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// --- encrypt --------------------------------------------------------------------------------
var ciphers = map[string]int{
	"des-cbc":    pkcs7.EncryptionAlgorithmDESCBC,
	"aes128-cbc": pkcs7.EncryptionAlgorithmAES128CBC,
	"aes256-cbc": pkcs7.EncryptionAlgorithmAES256CBC,
	"aes128-gcm": pkcs7.EncryptionAlgorithmAES128GCM,
	"aes256-gcm": pkcs7.EncryptionAlgorithmAES256GCM,
}

func encrypt(a args) (string, error) {
	in, err := a.need("in")
	if err != nil {
		return "", err
	}
	out, err := a.need("out")
	if err != nil {
		return "", err
	}
	rcpts, err := a.need("rcpt")
	if err != nil {
		return "", err
	}
	cipher, err := a.need("cipher")
	if err != nil {
		return "", err
	}
	alg, ok := ciphers[cipher]
	if !ok {
		return "", fmt.Errorf("cipher=%s: the library encrypts with DES-CBC, AES-128/256-CBC and AES-128/256-GCM only", cipher)
	}
	msg, err := readMessage(in)
	if err != nil {
		return "", err
	}
	var certs []*x509.Certificate
	for _, p := range strings.Split(rcpts, ",") {
		c, err := readCert(p)
		if err != nil {
			return "", err
		}
		certs = append(certs, c)
	}
	pkcs7.ContentEncryptionAlgorithm = alg // the library's global setting
	der, err := pkcs7.Encrypt(msg.entity(), certs)
	if err != nil {
		return "", err
	}
	if err := writeMessage(out, msg.outer, pkcs7Part(der, "enveloped-data")); err != nil {
		return "", err
	}
	return fmt.Sprintf("cipher=%s recipients=%d bytes=%d", cipher, len(certs), len(der)), nil
}

// --- verify ---------------------------------------------------------------------------------
// splitSigned: the CMS object and, for multipart/signed, the signed entity byte-exact (RFC
// 1847: from after the first delimiter line's CRLF to before the CRLF preceding the next one).
func splitSigned(msg *message) (form string, der, content []byte, err error) {
	mt, params, err := mime.ParseMediaType(msg.field("Content-Type"))
	if err != nil {
		return "", nil, nil, fmt.Errorf("Content-Type: %v", err)
	}
	switch mt {
	case "multipart/signed":
		if p := strings.ToLower(params["protocol"]); p != "application/pkcs7-signature" && p != "application/x-pkcs7-signature" {
			return "", nil, nil, fmt.Errorf("protocol %q", params["protocol"])
		}
		b := params["boundary"]
		if b == "" {
			return "", nil, nil, errors.New("multipart/signed without boundary")
		}
		text := append([]byte("\r\n"), msg.body...)
		delim := []byte("\r\n--" + b + "\r\n")
		p0 := bytes.Index(text, delim)
		if p0 < 0 {
			return "", nil, nil, errors.New("no first delimiter")
		}
		start := p0 + len(delim)
		p1 := bytes.Index(text[start:], delim)
		if p1 < 0 {
			return "", nil, nil, errors.New("no second delimiter")
		}
		content = text[start : start+p1]
		rest := text[start+p1+len(delim):]
		p2 := bytes.Index(rest, []byte("\r\n--"+b+"--"))
		if p2 < 0 {
			return "", nil, nil, errors.New("no close delimiter")
		}
		part, err := readPart(rest[:p2])
		if err != nil {
			return "", nil, nil, err
		}
		pt, _, _ := mime.ParseMediaType(part.field("Content-Type"))
		if pt != "application/pkcs7-signature" && pt != "application/x-pkcs7-signature" {
			return "", nil, nil, fmt.Errorf("second part is %q", pt)
		}
		if !strings.EqualFold(part.field("Content-Transfer-Encoding"), "base64") {
			return "", nil, nil, errors.New("signature part is not base64")
		}
		der, err = decodeBase64Body(part.body)
		return "detached", der, content, err
	case "application/pkcs7-mime", "application/x-pkcs7-mime":
		if st := strings.ToLower(params["smime-type"]); st != "signed-data" {
			return "", nil, nil, fmt.Errorf("smime-type %q", params["smime-type"])
		}
		if !strings.EqualFold(msg.field("Content-Transfer-Encoding"), "base64") {
			return "", nil, nil, errors.New("opaque body is not base64")
		}
		der, err = decodeBase64Body(msg.body)
		return "opaque", der, nil, err
	}
	return "", nil, nil, fmt.Errorf("not S/MIME signed: %s", mt)
}

// readPart: a body part (its header fields are all kept as Content-* fields here).
func readPart(raw []byte) (*message, error) {
	tmp := append([]byte{}, raw...)
	head, body := tmp, []byte{}
	if i := bytes.Index(tmp, []byte("\r\n\r\n")); i >= 0 {
		head, body = tmp[:i], tmp[i+4:]
	} else {
		return nil, errors.New("part without a body")
	}
	m := &message{body: body}
	for _, line := range strings.Split(string(head), "\r\n") {
		if line != "" && (line[0] == ' ' || line[0] == '\t') && len(m.content) > 0 {
			m.content[len(m.content)-1] += "\r\n" + line
		} else if line != "" {
			m.content = append(m.content, line)
		}
	}
	return m, nil
}

var digestNames = map[string]string{
	pkcs7.OIDDigestAlgorithmSHA1.String():   "SHA1",
	pkcs7.OIDDigestAlgorithmSHA256.String(): "SHA256",
	pkcs7.OIDDigestAlgorithmSHA384.String(): "SHA384",
	pkcs7.OIDDigestAlgorithmSHA512.String(): "SHA512",
}

var sigNames = map[string]string{
	pkcs7.OIDEncryptionAlgorithmRSA.String():       "RSA",
	pkcs7.OIDEncryptionAlgorithmRSASHA256.String(): "SHA256WITHRSA",
	pkcs7.OIDEncryptionAlgorithmRSASHA384.String(): "SHA384WITHRSA",
	pkcs7.OIDEncryptionAlgorithmRSASHA512.String(): "SHA512WITHRSA",
	pkcs7.OIDDigestAlgorithmECDSASHA256.String():   "SHA256WITHECDSA",
	pkcs7.OIDDigestAlgorithmECDSASHA384.String():   "SHA384WITHECDSA",
	pkcs7.OIDDigestAlgorithmECDSASHA512.String():   "SHA512WITHECDSA",
	"1.2.840.113549.1.1.10":                        "RSASSA-PSS",
	"1.3.101.112":                                  "Ed25519",
}

func nameOr(m map[string]string, oid asn1.ObjectIdentifier) string {
	if n, ok := m[oid.String()]; ok {
		return n
	}
	return oid.String()
}

func verify(a args) (string, error) {
	in, err := a.need("in")
	if err != nil {
		return "", err
	}
	caPath, err := a.need("ca")
	if err != nil {
		return "", err
	}
	msg, err := readMessage(in)
	if err != nil {
		return "", err
	}
	form, der, content, err := splitSigned(msg)
	if err != nil {
		return "", err
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return "", fmt.Errorf("parse: %v", err)
	}
	if form == "detached" {
		if len(p7.Content) != 0 {
			return "", errors.New("multipart/signed with content inside the CMS object")
		}
		p7.Content = content
	} else if len(p7.Content) == 0 {
		return "", errors.New("opaque signed-data without content")
	}
	root, err := readCert(caPath)
	if err != nil {
		return "", err
	}
	pool := x509.NewCertPool()
	pool.AddCert(root)
	if len(p7.Signers) == 0 {
		return "", errors.New("no SignerInfo")
	}
	if err := p7.VerifyWithChain(pool); err != nil {
		return "", err
	}
	signer := p7.GetOnlySigner()
	if signer == nil {
		return "", fmt.Errorf("%d signers or no signer certificate", len(p7.Signers))
	}
	// (the library keeps SignerInfo private: the algorithms come from a second, plain parse)
	dig, sig, err := signerAlgorithms(der)
	if err != nil {
		return "", err
	}
	if path := a["content"]; path != "" {
		if err := os.WriteFile(path, p7.Content, 0o644); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("form=%s signers=%d signer=%s digest=%s sig=%s certs=%d", form, len(p7.Signers),
		emailOf(signer), dig, sig, len(p7.Certificates)), nil
}

// signerAlgorithms: the first SignerInfo's digestAlgorithm and signatureAlgorithm names.
func signerAlgorithms(der []byte) (string, string, error) {
	type algID struct {
		Algorithm  asn1.ObjectIdentifier
		Parameters asn1.RawValue `asn1:"optional"`
	}
	type signerInfo struct {
		Version   int
		Sid       asn1.RawValue
		Digest    algID
		Signed    asn1.RawValue `asn1:"optional,tag:0"`
		Signature algID
		Rest      asn1.RawValue `asn1:"optional"`
	}
	type signedData struct {
		Version      int
		Digests      asn1.RawValue
		Content      asn1.RawValue
		Certificates asn1.RawValue `asn1:"optional,tag:0"`
		CRLs         asn1.RawValue `asn1:"optional,tag:1"`
		SignerInfos  []signerInfo  `asn1:"set"`
	}
	type contentInfo struct {
		Type    asn1.ObjectIdentifier
		Content signedData `asn1:"explicit,tag:0"`
	}
	var ci contentInfo
	if _, err := asn1.Unmarshal(der, &ci); err != nil {
		return "", "", fmt.Errorf("not DER signed-data: %v", err)
	}
	if len(ci.Content.SignerInfos) == 0 {
		return "", "", errors.New("no SignerInfo")
	}
	si := ci.Content.SignerInfos[0]
	return nameOr(digestNames, si.Digest.Algorithm), nameOr(sigNames, si.Signature.Algorithm), nil
}

// --- decrypt --------------------------------------------------------------------------------
func decrypt(a args) (string, error) {
	in, err := a.need("in")
	if err != nil {
		return "", err
	}
	out, err := a.need("out")
	if err != nil {
		return "", err
	}
	certPath, err := a.need("cert")
	if err != nil {
		return "", err
	}
	keyPath, err := a.need("key")
	if err != nil {
		return "", err
	}
	msg, err := readMessage(in)
	if err != nil {
		return "", err
	}
	mt, params, err := mime.ParseMediaType(msg.field("Content-Type"))
	if err != nil {
		return "", fmt.Errorf("Content-Type: %v", err)
	}
	if mt != "application/pkcs7-mime" && mt != "application/x-pkcs7-mime" {
		return "", errors.New("not application/pkcs7-mime: " + mt)
	}
	if !strings.EqualFold(msg.field("Content-Transfer-Encoding"), "base64") {
		return "", errors.New("body is not base64")
	}
	der, err := decodeBase64Body(msg.body)
	if err != nil {
		return "", err
	}
	cert, err := readCert(certPath)
	if err != nil {
		return "", err
	}
	key, err := readKey(keyPath)
	if err != nil {
		return "", err
	}
	p7, err := pkcs7.Parse(der)
	if err != nil {
		return "", fmt.Errorf("parse (smime-type=%s): %v", params["smime-type"], err)
	}
	plain, err := p7.Decrypt(cert, key)
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(out, plain, 0o644); err != nil {
		return "", err
	}
	return fmt.Sprintf("smime-type=%s bytes=%d", params["smime-type"], len(plain)), nil
}
