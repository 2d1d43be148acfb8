/*
 * FtpsJava -- drives Apache Commons Net's FTPSClient on JSSE for the mod_ftps
 * integration tests (tests/t/test_clients_java.py). Compiled at test time.
 *
 *   java FtpsJava key=value ... OP ...
 *     host, port, user, pass      where to log in
 *     implicit=1                  implicit FTPS (else AUTH TLS)
 *     tls=TLSv1.2|TLSv1.3         the only protocol enabled
 *     ca=FILE                     PEM CA that signed the server certificate
 *     plant=1                     the session-planting workaround (below)
 *     p12=FILE p12pass=PW         client certificate (PKCS#12) on the control
 *                                 connection, and on data connections unless
 *     datap12=FILE                this one is given for them
 *     datalocal=IP                bind data connections to this address
 *   OPs: LIST | RETR:name | STOR:name:bytes | NEW (log out, log in again)
 *   Prints one line per OP: "OK LIST n", "OK RETR name sha256",
 *   "OK STOR name sha256", or "FAIL OP reply" (and goes on).
 */
import java.io.*;
import java.lang.reflect.*;
import java.net.*;
import java.security.*;
import java.security.cert.*;
import java.util.*;
import javax.net.ssl.*;
import org.apache.commons.net.ftp.*;

public class FtpsJava {
  static Map<String, String> opt = new HashMap<>();

  /* The workaround (as Cyberduck and Spring Integration do it): before each
   * data handshake, put the control connection's session into JSSE's client
   * cache under the data connection's host:port, so JSSE offers it. TLS 1.3
   * sessions resume only through tickets, which JSSE files under the control
   * connection's host:port, newest last: plant that one. */
  static class PlantingClient extends FTPSClient {
    PlantingClient(boolean implicit, SSLContext ctx) { super(implicit, ctx); }

    @Override
    protected void _prepareDataSocket_(Socket data) throws IOException {
      if (!"1".equals(opt.get("plant")) || !(data instanceof SSLSocket)) {
        return;
      }
      SSLSocket ctrl = (SSLSocket) _socket_;
      SSLSession sess = ctrl.getSession();
      try {
        SSLSessionContext sc = sess.getSessionContext();
        Field f = sc.getClass().getDeclaredField("sessionHostPortCache");
        f.setAccessible(true);
        Object cache = f.get(sc);
        Method get = cache.getClass().getDeclaredMethod("get", Object.class);
        Method put = cache.getClass().getDeclaredMethod("put", Object.class, Object.class);
        get.setAccessible(true);
        put.setAccessible(true);
        Object planted = sess;
        if ("TLSv1.3".equals(sess.getProtocol())) {
          Object newest = get.invoke(cache, key(ctrl.getInetAddress(), ctrl.getPort()));
          planted = newest != null ? newest : sess;
        }
        put.invoke(cache, key(data.getInetAddress(), data.getPort()), planted);
      } catch (ReflectiveOperationException | NullPointerException e) {
        throw new IOException("planting the session failed: " + e, e);
      }
    }

    static String key(InetAddress a, int port) {
      return (a.getHostAddress() + ":" + port).toLowerCase(Locale.ROOT);
    }
  }

  static SSLContext context() throws Exception {
    CertificateFactory cf = CertificateFactory.getInstance("X.509");
    KeyStore trust = KeyStore.getInstance(KeyStore.getDefaultType());
    trust.load(null, null);
    try (InputStream in = new FileInputStream(opt.get("ca"))) {
      trust.setCertificateEntry("ca", cf.generateCertificate(in));
    }
    TrustManagerFactory tmf = TrustManagerFactory.getInstance("PKIX");
    tmf.init(trust);
    KeyManager[] kms = null;
    if (opt.containsKey("p12")) {
      char[] pw = opt.get("p12pass").toCharArray();
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      addKey(ks, "ctrl", opt.get("p12"), pw);
      addKey(ks, "data", opt.getOrDefault("datap12", opt.get("p12")), pw);
      KeyManagerFactory kmf = KeyManagerFactory.getInstance("SunX509");
      kmf.init(ks, pw);
      kms = new KeyManager[] { byRole((X509KeyManager) kmf.getKeyManagers()[0]) };
    }
    SSLContext ctx = SSLContext.getInstance("TLS");
    ctx.init(kms, tmf.getTrustManagers(), null);
    return ctx;
  }

  static void addKey(KeyStore ks, String alias, String file, char[] pw) throws Exception {
    KeyStore src = KeyStore.getInstance("PKCS12");
    try (InputStream in = new FileInputStream(file)) {
      src.load(in, pw);
    }
    String a = src.aliases().nextElement();
    ks.setKeyEntry(alias, src.getKey(a, pw), pw, src.getCertificateChain(a));
  }

  /* Alias "ctrl" on the control connection, "data" on data connections. */
  static X509KeyManager byRole(X509KeyManager km) {
    int ctrlPort = Integer.parseInt(opt.get("port"));
    return new X509ExtendedKeyManager() {
      public String chooseClientAlias(String[] t, Principal[] i, Socket s) {
        return s != null && s.getPort() != ctrlPort ? "data" : "ctrl";
      }
      public String chooseServerAlias(String t, Principal[] i, Socket s) { return null; }
      public String[] getClientAliases(String t, Principal[] i) { return km.getClientAliases(t, i); }
      public String[] getServerAliases(String t, Principal[] i) { return null; }
      public X509Certificate[] getCertificateChain(String a) { return km.getCertificateChain(a); }
      public PrivateKey getPrivateKey(String a) { return km.getPrivateKey(a); }
    };
  }

  static String sha256(byte[] b) throws Exception {
    StringBuilder sb = new StringBuilder();
    for (byte x : MessageDigest.getInstance("SHA-256").digest(b)) {
      sb.append(String.format("%02x", x));
    }
    return sb.toString();
  }

  static String run(FTPSClient ftp, String op) throws Exception {
    String[] a = op.split(":");
    switch (a[0]) {
      case "LIST":
        FTPFile[] files = ftp.listFiles();
        return FTPReply.isPositiveCompletion(ftp.getReplyCode()) ?
          "LIST " + files.length : null;
      case "RETR":
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        return ftp.retrieveFile(a[1], out) ? "RETR " + a[1] + " " + sha256(out.toByteArray()) : null;
      case "STOR":
        byte[] data = new byte[Integer.parseInt(a[2])];
        new SecureRandom().nextBytes(data);
        return ftp.storeFile(a[1], new ByteArrayInputStream(data)) ?
          "STOR " + a[1] + " " + sha256(data) : null;
      default:
        throw new IllegalArgumentException("unknown op " + op);
    }
  }

  public static void main(String[] args) throws Exception {
    List<String> ops = new ArrayList<>();
    for (String s : args) {
      int eq = s.indexOf('=');
      if (eq > 0) opt.put(s.substring(0, eq), s.substring(eq + 1)); else ops.add(s);
    }
    SSLContext ctx = context();
    FTPSClient ftp = login(ctx);
    for (String op : ops) {
      String res;
      if (op.equals("NEW")) {
        ftp.logout();
        ftp.disconnect();
        ftp = login(ctx);
        continue;
      }
      try {
        res = run(ftp, op);
      } catch (IOException e) {
        res = null;    /* a refused upload: the server closed the data socket */
        ftp.completePendingCommand();
      }
      System.out.println(res != null ? "OK " + res :
        "FAIL " + op + " " + ftp.getReplyString().trim().replace("\r\n", " | "));
      System.out.flush();
    }
    ftp.logout();
    ftp.disconnect();
  }

  static FTPSClient login(SSLContext ctx) throws Exception {
    FTPSClient ftp = new PlantingClient("1".equals(opt.get("implicit")), ctx);
    ftp.setEnabledProtocols(new String[] { opt.getOrDefault("tls", "TLSv1.3") });
    ftp.setDefaultTimeout(20000);
    ftp.setDataTimeout(java.time.Duration.ofSeconds(20));
    ftp.connect(opt.get("host"), Integer.parseInt(opt.get("port")));
    if (!ftp.login(opt.get("user"), opt.get("pass"))) {
      System.out.println("FAIL LOGIN " + ftp.getReplyString().trim());
      System.exit(2);
    }
    ftp.execPBSZ(0);
    ftp.execPROT("P");
    ftp.setFileType(FTP.BINARY_FILE_TYPE);
    ftp.enterLocalPassiveMode();
    if (opt.containsKey("datalocal")) {
      ftp.setPassiveLocalIPAddress(opt.get("datalocal"));
    }
    System.out.println("PROTOCOL " + ((SSLSocket) getSocket(ftp)).getSession().getProtocol());
    return ftp;
  }

  static Socket getSocket(FTPSClient ftp) throws Exception {
    Field f = org.apache.commons.net.SocketClient.class.getDeclaredField("_socket_");
    f.setAccessible(true);
    return (Socket) f.get(ftp);
  }
}
