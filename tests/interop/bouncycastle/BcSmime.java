// BouncyCastle (bcmail/bcpkix 1.72 on JavaMail) as an independent S/MIME peer for the interop
// tests: signs, encrypts, verifies and decrypts whole messages the way a Java MUA or gateway
// built on BouncyCastle does. Input trust: messages made by ssm-milter are parsed as untrusted
// (every failure is reported, never hidden); keys and certificates come from the test PKI.
//
// Usage: java BcSmime batch FILE      one operation per line (blank lines and # comments skipped)
//        java BcSmime OP ID KEY=VALUE...  one operation
// Operations (each answers one line "OK ID key=value..." or "FAIL ID reason" on stdout):
//   sign    in= out= cert= key= [chain=] alg=rsa|pss|ecdsa|ed25519 form=detached|opaque [sid=issuer|ski]
//           [digest=sha256|sha384|sha512] [micalg=rfc3851] [cert2= key2= alg2=]  (a second signer)
//           [compress=1]  (compress, then sign: RFC 3274 compressed-data inside the signature)
//           [caps=aes256-gcm|aes128-gcm|aes256-cbc|aes128-cbc|3des,...]  (the SMIMECapabilities listed, in order)
//   compress in= out= [signcert= signkey= signalg= signform=]  (sign, then compress)
//   encrypt in= out= rcpt=CERT[,CERT...] cipher=aes128-cbc|aes192-cbc|aes256-cbc|3des|aes128-gcm|aes256-gcm|chacha20-poly1305
//           [kt=v15|oaep|oaep-sha1|oaep-sha384|oaep-sha512] [kdf=sha1|sha256|sha384|cofactor-sha256] [rid=issuer|ski] [berri=1] [ukm=TEXT] [icv=12..16] (GCM)
//           [api=cms [originator=CERT] [unprot=1]] (CBC through CMSEnvelopedDataGenerator) [authattrs=1] (GCM) [signcert= signkey= signalg= signform=]  (sign, then encrypt)
//           [outercert= outerkey= outerchain= outeralg= outerform=]  (then sign again: triple wrap)
//           [compress=1]  (compressed after any signing, before encryption: RFC 8551 §3.6)
//           chacha20-poly1305 (RFC 8103): bcpkix 1.72 has no content encryptor for it, so
//           ChaChaPoly (below) puts bcprov's JCE ChaCha20-Poly1305 into bcpkix's generator; [authattrs=1]
//           as for GCM. (decrypt needs nothing extra: bcpkix's recipients find the cipher in bcprov by OID.)
//   verify  in= ca=ROOT [content=OUT]   every signer verifies, its certificate chains to ROOT
//   decrypt in= out= cert= key=        enveloped-data or authEnveloped-data
// The batch exits 1 when any operation failed.
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FileInputStream;
import java.io.FileOutputStream;
import java.io.FileReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Paths;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.Security;
import java.security.cert.CertPathBuilder;
import java.security.cert.CertStore;
import java.security.cert.CollectionCertStoreParameters;
import java.security.cert.PKIXBuilderParameters;
import java.security.cert.PKIXCertPathBuilderResult;
import java.security.cert.TrustAnchor;
import java.security.cert.X509CertSelector;
import java.security.cert.X509Certificate;
import java.security.interfaces.ECPublicKey;
import java.security.spec.ECParameterSpec;
import java.security.spec.MGF1ParameterSpec;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.Enumeration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import javax.activation.CommandMap;
import javax.activation.MailcapCommandMap;
import javax.crypto.spec.OAEPParameterSpec;
import javax.crypto.spec.PSource;
import javax.mail.MessagingException;
import javax.mail.Session;
import javax.mail.internet.MimeBodyPart;
import javax.mail.internet.MimeMessage;
import javax.mail.internet.MimeMultipart;
import javax.mail.internet.MimeUtility;
import org.bouncycastle.asn1.ASN1EncodableVector;
import org.bouncycastle.asn1.ASN1ObjectIdentifier;
import org.bouncycastle.asn1.ASN1Primitive;
import org.bouncycastle.asn1.DERSet;
import org.bouncycastle.asn1.cms.Attribute;
import org.bouncycastle.asn1.cms.AttributeTable;
import org.bouncycastle.asn1.cms.CMSAttributes;
import org.bouncycastle.asn1.cms.Time;
import org.bouncycastle.asn1.cms.AuthEnvelopedData;
import org.bouncycastle.asn1.cms.CMSObjectIdentifiers;
import org.bouncycastle.asn1.cms.ContentInfo;
import org.bouncycastle.asn1.edec.EdECObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PKCSObjectIdentifiers;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.asn1.pkcs.RSASSAPSSparams;
import org.bouncycastle.asn1.smime.SMIMECapabilitiesAttribute;
import org.bouncycastle.asn1.smime.SMIMECapability;
import org.bouncycastle.asn1.smime.SMIMECapabilityVector;
import org.bouncycastle.asn1.x509.AlgorithmIdentifier;
import org.bouncycastle.asn1.x509.SubjectKeyIdentifier;
import org.bouncycastle.cert.X509CertificateHolder;
import org.bouncycastle.cert.jcajce.JcaCertStore;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cms.CMSAlgorithm;
import org.bouncycastle.cms.CMSAuthEnvelopedData;
import org.bouncycastle.cms.CMSAuthEnvelopedDataGenerator;
import org.bouncycastle.cms.CMSEnvelopedData;
import org.bouncycastle.cms.CMSEnvelopedDataGenerator;
import org.bouncycastle.cms.OriginatorInfoGenerator;
import org.bouncycastle.cms.SimpleAttributeTableGenerator;
import org.bouncycastle.cms.CMSProcessableByteArray;
import org.bouncycastle.cms.KeyAgreeRecipientInformation;
import org.bouncycastle.cms.KeyTransRecipientInformation;
import org.bouncycastle.cms.Recipient;
import org.bouncycastle.cms.RecipientInfoGenerator;
import org.bouncycastle.cms.RecipientInformation;
import org.bouncycastle.cms.RecipientInformationStore;
import org.bouncycastle.cms.SignerInformation;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoGeneratorBuilder;
import org.bouncycastle.cms.jcajce.JcaSimpleSignerInfoVerifierBuilder;
import org.bouncycastle.cms.jcajce.JceCMSContentEncryptorBuilder;
import org.bouncycastle.cms.jcajce.JceKeyAgreeEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyAgreeRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.JceKeyTransAuthEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransEnvelopedRecipient;
import org.bouncycastle.cms.jcajce.JceKeyTransRecipientInfoGenerator;
import org.bouncycastle.cms.jcajce.ZlibCompressor;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.mail.smime.SMIMECompressedGenerator;
import org.bouncycastle.mail.smime.SMIMEEnvelopedGenerator;
import org.bouncycastle.mail.smime.SMIMESigned;
import org.bouncycastle.mail.smime.SMIMESignedGenerator;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.operator.DefaultAlgorithmNameFinder;
import org.bouncycastle.operator.OutputAEADEncryptor;
import org.bouncycastle.operator.jcajce.JcaAlgorithmParametersConverter;
import org.bouncycastle.util.Store;

public final class BcSmime {
    private static final String BC = "BC";
    private static final Session SESSION = Session.getInstance(new Properties());

    private BcSmime() {}

    /** A failed check: reported as FAIL with its message, not as a stack trace. */
    private static final class Failure extends Exception {
        private static final long serialVersionUID = 1L;

        Failure(String message) { super(message); }
    }

    public static void main(String[] argv) throws Exception {
        Security.addProvider(new BouncyCastleProvider());
        MailcapCommandMap mailcap = (MailcapCommandMap) CommandMap.getDefaultCommandMap();
        mailcap.addMailcap("application/pkcs7-signature;; x-java-content-handler=org.bouncycastle.mail.smime.handlers.pkcs7_signature");
        mailcap.addMailcap("application/pkcs7-mime;; x-java-content-handler=org.bouncycastle.mail.smime.handlers.pkcs7_mime");
        mailcap.addMailcap("application/x-pkcs7-signature;; x-java-content-handler=org.bouncycastle.mail.smime.handlers.x_pkcs7_signature");
        mailcap.addMailcap("application/x-pkcs7-mime;; x-java-content-handler=org.bouncycastle.mail.smime.handlers.x_pkcs7_mime");
        mailcap.addMailcap("multipart/signed;; x-java-content-handler=org.bouncycastle.mail.smime.handlers.multipart_signed");
        CommandMap.setDefaultCommandMap(mailcap);

        if (argv.length == 2 && argv[0].equals("batch")) {
            boolean ok = true;
            for (String line : Files.readAllLines(Paths.get(argv[1]), StandardCharsets.UTF_8)) {
                line = line.trim();
                if (line.isEmpty() || line.startsWith("#")) continue;
                ok &= run(line.split("\\s+"));
            }
            System.exit(ok ? 0 : 1);
        }
        if (argv.length < 2) {
            System.err.println("usage: BcSmime batch FILE | BcSmime OP ID KEY=VALUE...");
            System.exit(64);
        }
        System.exit(run(argv) ? 0 : 1);
    }

    private static boolean run(String[] words) {
        String op = words[0];
        String id = words.length > 1 ? words[1] : "?";
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 2; i < words.length; i++) {
            int eq = words[i].indexOf('=');
            if (eq <= 0) { report(false, id, "bad argument " + words[i]); return false; }
            a.put(words[i].substring(0, eq), words[i].substring(eq + 1));
        }
        try {
            String result;
            switch (op) {
                case "sign": result = sign(a); break;
                case "encrypt": result = encrypt(a); break;
                case "verify": result = verify(a); break;
                case "decrypt": result = decrypt(a); break;
                case "compress": result = compress(a); break;
                default: throw new Failure("unknown operation " + op);
            }
            report(true, id, result);
            return true;
        } catch (Failure f) {
            report(false, id, f.getMessage());
        } catch (Exception e) {
            String m = e.getClass().getSimpleName() + ": " + e.getMessage();
            for (Throwable c = e.getCause(); c != null; c = c.getCause())
                m += " <- " + c.getClass().getSimpleName() + ": " + c.getMessage();
            report(false, id, m);
        }
        return false;
    }

    private static void report(boolean ok, String id, String text) {
        System.out.println((ok ? "OK " : "FAIL ") + id + " " + text.replace('\n', ' ').replace('\r', ' '));
        System.out.flush();
    }

    private static String need(Map<String, String> a, String key) throws Failure {
        String v = a.get(key);
        if (v == null || v.isEmpty()) throw new Failure("missing " + key + "=");
        return v;
    }

    // --- keys and certificates ---------------------------------------------------------------
    private static X509Certificate readCert(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path, StandardCharsets.US_ASCII))) {
            Object o = p.readObject();
            if (!(o instanceof X509CertificateHolder)) throw new Failure(path + ": no certificate");
            return new JcaX509CertificateConverter().setProvider(BC).getCertificate((X509CertificateHolder) o);
        }
    }

    private static List<X509Certificate> readCerts(String path) throws Exception {
        List<X509Certificate> out = new ArrayList<>();
        try (PEMParser p = new PEMParser(new FileReader(path, StandardCharsets.US_ASCII))) {
            for (Object o = p.readObject(); o != null; o = p.readObject())
                if (o instanceof X509CertificateHolder)
                    out.add(new JcaX509CertificateConverter().setProvider(BC).getCertificate((X509CertificateHolder) o));
        }
        return out;
    }

    private static PrivateKey readKey(String path) throws Exception {
        try (PEMParser p = new PEMParser(new FileReader(path, StandardCharsets.US_ASCII))) {
            Object o = p.readObject();
            JcaPEMKeyConverter conv = new JcaPEMKeyConverter().setProvider(BC);
            if (o instanceof PrivateKeyInfo) return conv.getPrivateKey((PrivateKeyInfo) o);
            if (o instanceof org.bouncycastle.openssl.PEMKeyPair)
                return conv.getKeyPair((org.bouncycastle.openssl.PEMKeyPair) o).getPrivate();
            throw new Failure(path + ": no unencrypted private key");
        }
    }

    private static String emailOf(X509Certificate c) throws Exception {
        Collection<List<?>> sans = c.getSubjectAlternativeNames();
        if (sans != null)
            for (List<?> san : sans)
                if (((Integer) san.get(0)) == 1) return (String) san.get(1);
        return "-";
    }

    // --- messages ----------------------------------------------------------------------------
    /** A message file split into its header lines (unfolded kept folded) and the entity. */
    private static final class Parsed {
        final List<String> outer = new ArrayList<>();   // header fields other than Content-*/MIME-Version
        MimeBodyPart entity;                            // Content-* fields + body, CRLF
    }

    private static Parsed parse(String path) throws Exception {
        String m = new String(Files.readAllBytes(Paths.get(path)), StandardCharsets.ISO_8859_1);
        m = m.replace("\r\n", "\n").replace("\n", "\r\n");
        int sep = m.indexOf("\r\n\r\n");
        String head = sep < 0 ? m : m.substring(0, sep);
        String body = sep < 0 ? "" : m.substring(sep + 4);
        Parsed p = new Parsed();
        StringBuilder content = new StringBuilder();
        for (String field : head.split("\r\n(?![ \t])")) {
            String lower = field.toLowerCase(java.util.Locale.ROOT);
            if (lower.startsWith("content-")) content.append(field).append("\r\n");
            else if (!lower.startsWith("mime-version:") && !field.isEmpty()) p.outer.add(field);
        }
        content.append("\r\n").append(body);
        p.entity = new MimeBodyPart(new ByteArrayInputStream(content.toString().getBytes(StandardCharsets.ISO_8859_1)));
        return p;
    }

    /** Writes the outer header fields of the original around a new top-level entity. */
    private static void writeMessage(String path, List<String> outer, MimeBodyPart top) throws Exception {
        try (OutputStream os = new FileOutputStream(path)) {
            for (String f : outer) os.write((f + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
            os.write("MIME-Version: 1.0\r\n".getBytes(StandardCharsets.US_ASCII));
            top.writeTo(os);
        }
    }

    private static MimeBodyPart asPart(MimeMultipart mm) throws MessagingException {
        MimeBodyPart p = new MimeBodyPart();
        p.setContent(mm);
        p.setHeader("Content-Type", mm.getContentType());
        return p;
    }

    // --- sign --------------------------------------------------------------------------------
    /** JCA signature name for alg (rsa|pss|ecdsa) and digest (sha256|sha384|sha512). */
    private static String sigAlgName(String alg, String digest) throws Failure {
        if (alg.equals("ed25519")) return "Ed25519";   // RFC 8419: SHA-512 message digest, pure EdDSA
        String d;
        switch (digest) {
            case "sha256": d = "SHA256"; break;
            case "sha384": d = "SHA384"; break;
            case "sha512": d = "SHA512"; break;
            default: throw new Failure("digest=" + digest);
        }
        switch (alg) {
            case "rsa": return d + "withRSA";
            case "pss": return d + "withRSAandMGF1";   // RSASSA-PSS, MGF1 with the same hash, salt = hash length
            case "ecdsa": return d + "withECDSA";
            default: throw new Failure("alg=" + alg);
        }
    }

    private static MimeBodyPart signEntity(MimeBodyPart entity, String certPath, String keyPath, String chainPath,
                                           String alg, String form, boolean ski) throws Exception {
        return signEntity(entity, certPath, keyPath, chainPath, alg, form, ski, Collections.<String, String>emptyMap());
    }

    /** The SMIMECapabilities a signature advertises: caps=NAME[,NAME...] in that order, else
     *  AES-256-GCM, AES-256-CBC, AES-128-CBC, 3DES (what a sender's client might list). */
    private static SMIMECapabilityVector capabilities(String list) throws Failure {
        SMIMECapabilityVector caps = new SMIMECapabilityVector();
        if (list == null) list = "aes256-gcm,aes256-cbc,aes128-cbc,3des";
        for (String name : list.split(",")) {
            switch (name) {
                case "aes256-gcm": caps.addCapability(CMSAlgorithm.AES256_GCM); break;
                case "aes128-gcm": caps.addCapability(CMSAlgorithm.AES128_GCM); break;
                case "aes256-cbc": caps.addCapability(CMSAlgorithm.AES256_CBC); break;
                case "aes128-cbc": caps.addCapability(CMSAlgorithm.AES128_CBC); break;
                case "3des": caps.addCapability(SMIMECapability.dES_EDE3_CBC); break;
                default: throw new Failure("caps=" + name);
            }
        }
        return caps;
    }

    private static MimeBodyPart signEntity(MimeBodyPart entity, String certPath, String keyPath, String chainPath,
                                           String alg, String form, boolean ski, Map<String, String> a) throws Exception {
        X509Certificate cert = readCert(certPath);
        PrivateKey key = readKey(keyPath);
        String sigAlg = sigAlgName(alg, a.getOrDefault("digest", "sha256"));
        SMIMECapabilityVector caps = capabilities(a.get("caps"));
        ASN1EncodableVector attrs = new ASN1EncodableVector();
        attrs.add(new SMIMECapabilitiesAttribute(caps));
        // micalg=rfc3851: the RFC 3851 micalg names ("sha256" instead of "sha-256")
        SMIMESignedGenerator gen = a.getOrDefault("micalg", "rfc5751").equals("rfc3851")
            ? new SMIMESignedGenerator(SMIMESignedGenerator.RFC3851_MICALGS) : new SMIMESignedGenerator();
        JcaSimpleSignerInfoGeneratorBuilder b = new JcaSimpleSignerInfoGeneratorBuilder().setProvider(BC)
            .setSignedAttributeGenerator(new AttributeTable(attrs));
        // sid: issuerAndSerialNumber (SignerInfo v1), or subjectKeyIdentifier (v3)
        gen.addSignerInfoGenerator(ski ? b.build(sigAlg, key, skiOf(cert)) : b.build(sigAlg, key, cert));
        List<X509Certificate> certs = new ArrayList<>();
        certs.add(cert);
        if (a.containsKey("cert2")) {   // a second signer (its own SignerInfo)
            X509Certificate cert2 = readCert(a.get("cert2"));
            gen.addSignerInfoGenerator(new JcaSimpleSignerInfoGeneratorBuilder().setProvider(BC)
                .setSignedAttributeGenerator(new AttributeTable(attrs))
                .build(sigAlgName(need(a, "alg2"), "sha256"), readKey(need(a, "key2")), cert2));
            certs.add(cert2);
        }
        if (chainPath != null) certs.addAll(readCerts(chainPath));
        gen.addCertificates(new JcaCertStore(certs));
        if (form.equals("detached")) return asPart(gen.generate(entity));
        if (form.equals("opaque")) return gen.generateEncapsulated(entity);
        throw new Failure("form=" + form);
    }

    private static String sign(Map<String, String> a) throws Exception {
        Parsed p = parse(need(a, "in"));
        String form = a.getOrDefault("form", "detached");
        MimeBodyPart entity = a.getOrDefault("compress", "0").equals("1") ? compressEntity(p.entity) : p.entity;
        MimeBodyPart top = signEntity(entity, need(a, "cert"), need(a, "key"), a.get("chain"),
                                      a.getOrDefault("alg", "rsa"), form, a.getOrDefault("sid", "issuer").equals("ski"), a);
        writeMessage(need(a, "out"), p.outer, top);
        return "form=" + form;
    }

    /** The entity, signed first when signcert= (signkey=, signchain=, signalg=, signform=) asks. */
    private static MimeBodyPart innerSigned(MimeBodyPart entity, Map<String, String> a) throws Exception {
        if (!a.containsKey("signcert")) return entity;
        return signEntity(entity, a.get("signcert"), need(a, "signkey"), a.get("signchain"),
                          a.getOrDefault("signalg", "rsa"), a.getOrDefault("signform", "detached"), false);
    }

    // --- encrypt -----------------------------------------------------------------------------
    private static String encrypt(Map<String, String> a) throws Exception {
        Parsed p = parse(need(a, "in"));
        MimeBodyPart entity = innerSigned(p.entity, a);
        if (a.getOrDefault("compress", "0").equals("1")) entity = compressEntity(entity);
        String cipher = need(a, "cipher");
        ASN1ObjectIdentifier ce;
        boolean aead = false;
        switch (cipher) {
            case "aes128-cbc": ce = CMSAlgorithm.AES128_CBC; break;
            case "aes192-cbc": ce = CMSAlgorithm.AES192_CBC; break;
            case "aes256-cbc": ce = CMSAlgorithm.AES256_CBC; break;
            case "3des": ce = CMSAlgorithm.DES_EDE3_CBC; break;
            case "aes128-gcm": ce = CMSAlgorithm.AES128_GCM; aead = true; break;
            case "aes256-gcm": ce = CMSAlgorithm.AES256_GCM; aead = true; break;
            case "chacha20-poly1305": ce = PKCSObjectIdentifiers.id_alg_AEADChaCha20Poly1305; aead = true; break;
            default: throw new Failure("cipher=" + cipher);
        }
        // a 256-bit content key (AES-256, ChaCha20) is wrapped with AES-256 (RFC 8103 §2)
        ASN1ObjectIdentifier wrap = cipher.startsWith("aes256") || cipher.startsWith("chacha")
            ? CMSAlgorithm.AES256_WRAP : CMSAlgorithm.AES128_WRAP;
        String kt = a.getOrDefault("kt", "v15");
        boolean ski = a.getOrDefault("rid", "issuer").equals("ski");   // subjectKeyIdentifier RecipientInfos
        List<RecipientInfoGenerator> ris = new ArrayList<>();
        StringBuilder kinds = new StringBuilder();
        for (String path : need(a, "rcpt").split(",")) {
            X509Certificate c = readCert(path);
            if (c.getPublicKey() instanceof ECPublicKey) {
                ECParameterSpec spec = ((ECPublicKey) c.getPublicKey()).getParams();
                KeyPairGenerator kpg = KeyPairGenerator.getInstance("EC", BC);
                kpg.initialize(spec);
                KeyPair eph = kpg.generateKeyPair();   // ephemeral-static ECDH (RFC 5753)
                String kdf = a.getOrDefault("kdf", "sha256");
                ASN1ObjectIdentifier scheme;
                switch (kdf) {
                    case "sha1": scheme = CMSAlgorithm.ECDH_SHA1KDF; break;
                    case "sha256": scheme = CMSAlgorithm.ECDH_SHA256KDF; break;
                    case "sha384": scheme = CMSAlgorithm.ECDH_SHA384KDF; break;
                    case "cofactor-sha256": scheme = CMSAlgorithm.ECCDH_SHA256KDF; break;
                    default: throw new Failure("kdf=" + kdf);
                }
                JceKeyAgreeRecipientInfoGenerator g = new JceKeyAgreeRecipientInfoGenerator(
                    scheme, eph.getPrivate(), eph.getPublic(), wrap);
                if (a.containsKey("ukm"))   // RFC 5753 ukm: entityUInfo of the X9.63 KDF's SharedInfo
                    g.setUserKeyingMaterial(a.get("ukm").getBytes(StandardCharsets.US_ASCII));
                if (ski) g.addRecipient(skiOf(c), c.getPublicKey());
                else g.addRecipient(c);
                g.setProvider(BC);
                ris.add(g);
                kinds.append(" kari:ecdh-").append(kdf).append("kdf");
            } else if (kt.equals("v15")) {
                ris.add((ski ? new JceKeyTransRecipientInfoGenerator(skiOf(c), c.getPublicKey())
                             : new JceKeyTransRecipientInfoGenerator(c)).setProvider(BC));
                kinds.append(" ktri:v15");
            } else if (kt.equals("oaep") || kt.startsWith("oaep-sha")) {
                // RSAES-OAEP (RFC 4055/8017): the hash and MGF1 with the same hash, empty label
                String bits = kt.equals("oaep") ? "256" : kt.substring("oaep-sha".length());
                MGF1ParameterSpec mgf;
                switch (bits) {
                    case "1": mgf = MGF1ParameterSpec.SHA1; break;
                    case "256": mgf = MGF1ParameterSpec.SHA256; break;
                    case "384": mgf = MGF1ParameterSpec.SHA384; break;
                    case "512": mgf = MGF1ParameterSpec.SHA512; break;
                    default: throw new Failure("kt=" + kt);
                }
                OAEPParameterSpec spec = new OAEPParameterSpec("SHA-" + bits, "MGF1", mgf, PSource.PSpecified.DEFAULT);
                AlgorithmIdentifier oaep = new JcaAlgorithmParametersConverter()
                    .getAlgorithmIdentifier(PKCSObjectIdentifiers.id_RSAES_OAEP, spec);
                ris.add((ski ? new JceKeyTransRecipientInfoGenerator(skiOf(c), oaep, c.getPublicKey())
                             : new JceKeyTransRecipientInfoGenerator(c, oaep)).setProvider(BC));
                kinds.append(" ktri:").append(kt);
            } else {
                throw new Failure("kt=" + kt);
            }
        }
        MimeBodyPart top;
        String api = a.getOrDefault("api", "smime");
        if (!aead && api.equals("cms")) {
            // bcpkix's one-shot CMSEnvelopedDataGenerator (what a non-JavaMail user calls), with
            // unprotectedAttrs and originatorInfo on request
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            entity.writeTo(plain);
            CMSEnvelopedDataGenerator gen = new CMSEnvelopedDataGenerator();
            for (RecipientInfoGenerator g : ris) gen.addRecipientInfoGenerator(g);
            if (a.containsKey("originator"))
                gen.setOriginatorInfo(new OriginatorInfoGenerator(new X509CertificateHolder(
                    readCert(a.get("originator")).getEncoded())).generate());
            if (a.getOrDefault("unprot", "0").equals("1"))
                gen.setUnprotectedAttributeGenerator(new SimpleAttributeTableGenerator(new AttributeTable(
                    new Attribute(CMSAttributes.signingTime, new DERSet(new Time(new java.util.Date()))))));
            CMSEnvelopedData env = gen.generate(new CMSProcessableByteArray(plain.toByteArray()),
                new JceCMSContentEncryptorBuilder(ce).setProvider(BC).build());
            top = pkcs7Part(env.getEncoded(), "enveloped-data");
        } else if (!aead) {
            SMIMEEnvelopedGenerator gen = new SMIMEEnvelopedGenerator();
            gen.setBerEncodeRecipients(a.getOrDefault("berri", "0").equals("1"));   // RecipientInfos as a BER SET
            for (RecipientInfoGenerator g : ris) gen.addRecipientInfoGenerator(g);
            top = gen.generate(entity, new JceCMSContentEncryptorBuilder(ce).setProvider(BC).build());
        } else {
            // bcmail 1.72 has no SMIMEAuthEnvelopedGenerator: CMS AuthEnvelopedData (RFC 5083)
            // from bcpkix, wrapped as RFC 8551 application/pkcs7-mime; smime-type=authEnveloped-data.
            ByteArrayOutputStream plain = new ByteArrayOutputStream();
            entity.writeTo(plain);
            CMSAuthEnvelopedDataGenerator gen = new CMSAuthEnvelopedDataGenerator();
            for (RecipientInfoGenerator g : ris) gen.addRecipientInfoGenerator(g);
            if (a.getOrDefault("authattrs", "0").equals("1"))   // RFC 5083 authAttrs (GCM's AAD)
                gen.setAuthenticatedAttributeGenerator(new SimpleAttributeTableGenerator(new AttributeTable(
                    new Attribute(CMSAttributes.contentType, new DERSet(CMSObjectIdentifiers.data)))));
            JceCMSContentEncryptorBuilder eb = new JceCMSContentEncryptorBuilder(ce).setProvider(BC);
            if (a.containsKey("icv") && !cipher.startsWith("chacha")) {   // GCMParameters aes-ICVlen other than 16 (RFC 5084: 12..16)
                byte[] nonce = new byte[12];
                new java.security.SecureRandom().nextBytes(nonce);
                java.security.AlgorithmParameters gp = java.security.AlgorithmParameters.getInstance("GCM", BC);
                gp.init(new javax.crypto.spec.GCMParameterSpec(8 * Integer.parseInt(a.get("icv")), nonce));
                eb.setAlgorithmParameters(gp);
            }
            OutputAEADEncryptor enc = ce.equals(PKCSObjectIdentifiers.id_alg_AEADChaCha20Poly1305)
                ? new ChaChaPoly.Encryptor() : (OutputAEADEncryptor) eb.build();
            CMSAuthEnvelopedData env = gen.generate(new CMSProcessableByteArray(plain.toByteArray()), enc);
            top = pkcs7Part(env.getEncoded(), "authEnveloped-data");
        }
        if (a.containsKey("outercert")) {   // triple wrapping (RFC 2634 §1.1): sign, encrypt, sign
            // SMIMEEnvelopedGenerator encrypts when the part is written, with a fresh key each
            // time: the envelope is fixed in bytes first, or the outer signature would cover
            // another encryption than the one sent.
            ByteArrayOutputStream fixed = new ByteArrayOutputStream();
            top.writeTo(fixed);
            top = new MimeBodyPart(new ByteArrayInputStream(fixed.toByteArray()));
            top = signEntity(top, a.get("outercert"), need(a, "outerkey"), a.get("outerchain"),
                             a.getOrDefault("outeralg", "rsa"), a.getOrDefault("outerform", "detached"), false);
        }
        writeMessage(need(a, "out"), p.outer, top);
        return "cipher=" + cipher + kinds;
    }

    // --- ChaCha20-Poly1305 (RFC 8103) ---------------------------------------------------------
    /** What bcpkix 1.72 lacks for RFC 8103 (CMSAlgorithm has no ChaCha20-Poly1305 and its
     *  EnvelopedDataHelper knows only GCM and CCM as AEAD), built from bcprov's JCE
     *  "ChaCha20-Poly1305" (RFC 7539 AEAD) and its AlgorithmIdentifier: parameters are the
     *  12-octet nonce as an OCTET STRING, the mac the 16-octet tag. */
    static final class ChaChaPoly {
        private ChaChaPoly() {}

        static final int TAG = 16;

        /** The content encryptor CMSAuthEnvelopedDataGenerator drives: it writes the content,
         *  then the DER authAttrs to the AAD stream, then closes the content stream, then asks
         *  for the mac. The JCE cipher takes the AAD first, so the content waits until close. */
        static final class Encryptor implements OutputAEADEncryptor {
            private final byte[] key = new byte[32];
            private final byte[] nonce = new byte[12];
            private final ByteArrayOutputStream aad = new ByteArrayOutputStream();
            private byte[] mac;

            Encryptor() {
                java.security.SecureRandom rnd = new java.security.SecureRandom();
                rnd.nextBytes(key);
                rnd.nextBytes(nonce);
            }

            @Override
            public AlgorithmIdentifier getAlgorithmIdentifier() {
                return new AlgorithmIdentifier(PKCSObjectIdentifiers.id_alg_AEADChaCha20Poly1305,
                                               new org.bouncycastle.asn1.DEROctetString(nonce));
            }

            @Override
            public org.bouncycastle.operator.GenericKey getKey() {
                return new org.bouncycastle.operator.jcajce.JceGenericKey(getAlgorithmIdentifier(),
                    new javax.crypto.spec.SecretKeySpec(key, "ChaCha20"));
            }

            @Override
            public OutputStream getAADStream() { return aad; }

            @Override
            public byte[] getMAC() { return mac; }

            @Override
            public OutputStream getOutputStream(OutputStream out) {
                return new ByteArrayOutputStream() {
                    @Override
                    public void close() throws IOException {
                        byte[] sealed;
                        try {
                            javax.crypto.Cipher c = javax.crypto.Cipher.getInstance("ChaCha20-Poly1305", BC);
                            c.init(javax.crypto.Cipher.ENCRYPT_MODE, new javax.crypto.spec.SecretKeySpec(key, "ChaCha20"),
                                   new javax.crypto.spec.IvParameterSpec(nonce));
                            if (aad.size() > 0) c.updateAAD(aad.toByteArray());
                            sealed = c.doFinal(toByteArray());
                        } catch (java.security.GeneralSecurityException e) {
                            throw new IOException(e);
                        }
                        out.write(sealed, 0, sealed.length - TAG);   // ciphertext || tag
                        mac = java.util.Arrays.copyOfRange(sealed, sealed.length - TAG, sealed.length);
                    }
                };
            }
        }
    }

    // --- compress (RFC 3274) ------------------------------------------------------------------
    /** application/pkcs7-mime; smime-type=compressed-data (zlib), fixed in bytes. */
    private static MimeBodyPart compressEntity(MimeBodyPart entity) throws Exception {
        MimeBodyPart c = new SMIMECompressedGenerator().generate(entity, new ZlibCompressor());
        ByteArrayOutputStream fixed = new ByteArrayOutputStream();
        c.writeTo(fixed);
        return new MimeBodyPart(new ByteArrayInputStream(fixed.toByteArray()));
    }

    private static String compress(Map<String, String> a) throws Exception {
        Parsed p = parse(need(a, "in"));
        MimeBodyPart entity = innerSigned(p.entity, a);
        writeMessage(need(a, "out"), p.outer, compressEntity(entity));
        return "compressed";
    }

    private static MimeBodyPart pkcs7Part(byte[] der, String smimeType) throws MessagingException {
        String ct = "application/pkcs7-mime; smime-type=" + smimeType + "; name=\"smime.p7m\"";
        MimeBodyPart p = new MimeBodyPart();
        p.setContent(der, ct);
        p.setHeader("Content-Type", ct);
        p.setHeader("Content-Transfer-Encoding", "base64");
        p.setHeader("Content-Disposition", "attachment; filename=\"smime.p7m\"");
        return p;
    }

    // --- verify ------------------------------------------------------------------------------
    private static String verify(Map<String, String> a) throws Exception {
        MimeMessage m;
        try (InputStream in = new FileInputStream(need(a, "in"))) { m = new MimeMessage(SESSION, in); }
        SMIMESigned s;
        String form;
        if (m.isMimeType("multipart/signed")) {
            s = new SMIMESigned((MimeMultipart) m.getContent());
            form = "detached";
        } else if (m.isMimeType("application/pkcs7-mime") || m.isMimeType("application/x-pkcs7-mime")) {
            s = new SMIMESigned(m);
            form = "opaque";
        } else {
            throw new Failure("not S/MIME signed: " + m.getContentType());
        }
        X509Certificate root = readCert(need(a, "ca"));
        Store<X509CertificateHolder> store = s.getCertificates();
        JcaX509CertificateConverter conv = new JcaX509CertificateConverter().setProvider(BC);
        List<X509Certificate> all = new ArrayList<>();
        for (X509CertificateHolder h : store.getMatches(null)) all.add(conv.getCertificate(h));
        Collection<SignerInformation> signers = s.getSignerInfos().getSigners();
        if (signers.isEmpty()) throw new Failure("no SignerInfo");
        DefaultAlgorithmNameFinder names = new DefaultAlgorithmNameFinder();
        StringBuilder out = new StringBuilder("form=" + form + " signers=" + signers.size());
        for (SignerInformation si : signers) {
            Collection<X509CertificateHolder> matches = certsOf(store, si);
            if (matches.isEmpty()) throw new Failure("signer certificate not in the message");
            X509Certificate cert = conv.getCertificate(matches.iterator().next());
            if (!si.verify(new JcaSimpleSignerInfoVerifierBuilder().setProvider(BC).build(cert)))
                throw new Failure("signature does not verify (" + emailOf(cert) + ")");
            // the signer's chain, from the certificates in the message, must end at the given root
            X509CertSelector target = new X509CertSelector();
            target.setCertificate(cert);
            PKIXBuilderParameters params = new PKIXBuilderParameters(
                Collections.singleton(new TrustAnchor(root, null)), target);
            params.addCertStore(CertStore.getInstance("Collection", new CollectionCertStoreParameters(all)));
            params.setRevocationEnabled(false);
            PKIXCertPathBuilderResult path;
            try {
                path = (PKIXCertPathBuilderResult) CertPathBuilder.getInstance("PKIX").build(params);
            } catch (Exception e) {
                throw new Failure("no path to the CA for " + emailOf(cert) + ": " + e.getMessage());
            }
            String sig = si.getEncryptionAlgOID();
            String sigName = sig.equals(EdECObjectIdentifiers.id_Ed25519.getId()) ? "Ed25519"
                : names.getAlgorithmName(new ASN1ObjectIdentifier(sig));
            if (sig.equals(PKCSObjectIdentifiers.id_RSASSA_PSS.getId()))
                sigName += "/salt=" + RSASSAPSSparams.getInstance(
                    ASN1Primitive.fromByteArray(si.getEncryptionAlgParams())).getSaltLength();
            out.append(" signer=").append(emailOf(cert))
               .append(" subject=").append(cert.getSubjectX500Principal().getName().replace(' ', '_'))
               .append(" digest=").append(names.getAlgorithmName(new ASN1ObjectIdentifier(si.getDigestAlgOID())))
               .append(" sig=").append(sigName)
               .append(" path=").append(path.getCertPath().getCertificates().size());
        }
        if (a.containsKey("content"))
            try (OutputStream os = new FileOutputStream(a.get("content"))) { s.getContent().writeTo(os); }
        return out.toString();
    }

    /** BouncyCastle 1.72's DefaultAlgorithmNameFinder does not name the AES-GCM OIDs, nor RFC 8103's. */
    private static String algName(ASN1ObjectIdentifier oid) {
        if (oid.equals(PKCSObjectIdentifiers.id_alg_AEADChaCha20Poly1305)) return "ChaCha20-Poly1305";
        if (oid.equals(CMSAlgorithm.AES128_GCM)) return "AES-128/GCM";
        if (oid.equals(CMSAlgorithm.AES192_GCM)) return "AES-192/GCM";
        if (oid.equals(CMSAlgorithm.AES256_GCM)) return "AES-256/GCM";
        return new DefaultAlgorithmNameFinder().getAlgorithmName(oid);
    }

    private static byte[] skiOf(X509Certificate c) throws Exception {
        SubjectKeyIdentifier ski = SubjectKeyIdentifier.fromExtensions(
            new X509CertificateHolder(c.getEncoded()).getExtensions());
        if (ski == null) throw new Failure("no subjectKeyIdentifier in " + emailOf(c));
        return ski.getKeyIdentifier();
    }

    // SignerId and RecipientId implement BouncyCastle's Selector as a raw type.
    @SuppressWarnings("unchecked")
    private static Collection<X509CertificateHolder> certsOf(Store<X509CertificateHolder> store, SignerInformation si) {
        return store.getMatches(si.getSID());
    }

    @SuppressWarnings("unchecked")
    private static boolean isFor(RecipientInformation ri, X509CertificateHolder holder) {
        return ri.getRID().match(holder);
    }

    // --- decrypt -----------------------------------------------------------------------------
    private static String decrypt(Map<String, String> a) throws Exception {
        MimeMessage m;
        try (InputStream in = new FileInputStream(need(a, "in"))) { m = new MimeMessage(SESSION, in); }
        if (!m.isMimeType("application/pkcs7-mime") && !m.isMimeType("application/x-pkcs7-mime"))
            throw new Failure("not application/pkcs7-mime: " + m.getContentType());
        byte[] der;
        try (InputStream raw = MimeUtility.decode(m.getRawInputStream(), m.getEncoding() == null ? "7bit" : m.getEncoding())) {
            der = raw.readAllBytes();
        }
        X509Certificate cert = readCert(need(a, "cert"));
        X509CertificateHolder holder = new X509CertificateHolder(cert.getEncoded());
        PrivateKey key = readKey(need(a, "key"));
        ContentInfo ci = ContentInfo.getInstance(ASN1Primitive.fromByteArray(der));
        boolean auth;
        RecipientInformationStore store;
        String ce;
        if (ci.getContentType().equals(CMSObjectIdentifiers.envelopedData)) {
            CMSEnvelopedData env = new CMSEnvelopedData(der);
            store = env.getRecipientInfos();
            ce = algName(new ASN1ObjectIdentifier(env.getEncryptionAlgOID()));
            auth = false;
        } else if (ci.getContentType().equals(CMSObjectIdentifiers.authEnvelopedData)) {
            CMSAuthEnvelopedData env = new CMSAuthEnvelopedData(der);
            store = env.getRecipientInfos();
            ce = algName(AuthEnvelopedData.getInstance(ci.getContent())
                .getAuthEncryptedContentInfo().getContentEncryptionAlgorithm().getAlgorithm());
            auth = true;
        } else {
            throw new Failure("content type " + ci.getContentType());
        }
        for (RecipientInformation ri : store.getRecipients()) {
            if (!isFor(ri, holder)) continue;
            Recipient r;
            String kind;
            if (ri instanceof KeyTransRecipientInformation) {
                r = auth ? new JceKeyTransAuthEnvelopedRecipient(key).setProvider(BC)
                         : new JceKeyTransEnvelopedRecipient(key).setProvider(BC);
                kind = "ktri:" + new DefaultAlgorithmNameFinder().getAlgorithmName(new ASN1ObjectIdentifier(ri.getKeyEncryptionAlgOID()));
            } else if (ri instanceof KeyAgreeRecipientInformation) {
                // bcpkix 1.72 has no KeyAgree recipient for AuthEnvelopedData: the enveloped one is tried
                r = new JceKeyAgreeEnvelopedRecipient(key).setProvider(BC);
                kind = "kari:" + ri.getKeyEncryptionAlgOID();
            } else {
                continue;
            }
            byte[] plain = ri.getContent(r);
            try (OutputStream os = new FileOutputStream(need(a, "out"))) { os.write(plain); }
            return "type=" + (auth ? "authEnvelopedData" : "envelopedData") + " cipher=" + ce + " " + kind
                + " recipients=" + store.size() + " bytes=" + plain.length;
        }
        throw new Failure("no RecipientInfo for " + emailOf(cert) + " among " + store.size());
    }
}
