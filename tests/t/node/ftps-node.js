// ftps-node.js -- drives basic-ftp (Node.js) for tests/t/test_clients_node.py.
//
//   node ftps-node.js '{"host":..,"port":..,"user":..,"pass":..,"ca":FILE,
//                       "implicit":bool,"tls":"TLSv1.2"|"TLSv1.3",
//                       "ops":["LIST","RETR:name","STOR:name:bytes"],"dir":TMP}'
//
// Prints one JSON object: the control protocol, one result per op (sha256 of
// what was sent or received), and for every data connection whether it
// resumed and a fingerprint of the ticket it used; ctrlTickets counts the
// sessions (tickets) the control connection received.
"use strict";
const crypto = require("crypto");
const fs = require("fs");
const path = require("path");
const tls = require("tls");
const ftp = require("basic-ftp");

const cfg = JSON.parse(process.argv[2]);
const dataConns = [];
let ctrlTickets = 0;

// basic-ftp calls tls.connect() for every data connection, offering the
// control connection's current session: record what each one resumed.
const realConnect = tls.connect;
tls.connect = function (...args) {
  const sock = realConnect.apply(this, args);
  const opts = args[0] || {};
  if (opts.session) {
    const rec = { offered: sha(opts.session) };
    dataConns.push(rec);
    sock.once("secureConnect", () => {
      rec.reused = sock.isSessionReused();
      const t = sock.getTLSTicket();
      rec.ticket = t ? sha(t) : null;
    });
  } else {
    sock.on("session", () => { ctrlTickets++; });
  }
  return sock;
};

function sha(buf) {
  return crypto.createHash("sha256").update(buf).digest("hex").slice(0, 16);
}

function shaFile(p) {
  return crypto.createHash("sha256").update(fs.readFileSync(p)).digest("hex");
}

async function run(client, op) {
  const [verb, name, size] = op.split(":");
  if (verb === "LIST") {
    return { op, count: (await client.list()).length };
  }
  const local = path.join(cfg.dir, "node-" + name);
  if (verb === "RETR") {
    await client.downloadTo(local, name);
    return { op, sha256: shaFile(local) };
  }
  fs.writeFileSync(local, crypto.randomBytes(Number(size)));
  await client.uploadFrom(local, name);
  return { op, sha256: shaFile(local) };
}

async function main() {
  const client = new ftp.Client(20000);
  const out = { results: [], dataConns, ctrlTickets: 0 };
  const v = cfg.tls;
  try {
    await client.access({
      host: cfg.host, port: cfg.port, user: cfg.user, password: cfg.pass,
      secure: cfg.implicit ? "implicit" : true,
      secureOptions: { ca: fs.readFileSync(cfg.ca), minVersion: v, maxVersion: v },
    });
    out.protocol = client.ftp.socket.getProtocol();
    for (const op of cfg.ops) {
      try {
        out.results.push(await run(client, op));
      } catch (e) {
        out.results.push({ op, error: String(e.message || e) });
      }
    }
  } finally {
    client.close();
  }
  out.ctrlTickets = ctrlTickets;
  process.stdout.write(JSON.stringify(out) + "\n");
}

main().catch((e) => { process.stdout.write(JSON.stringify({ fatal: String(e) }) + "\n"); });
