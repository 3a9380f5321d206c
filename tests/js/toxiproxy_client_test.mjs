// Drives `keel chaos` with toxiproxy-node-client 4.1.0, a Toxiproxy client
// Keel did not write, unmodified: every call must succeed as against
// Toxiproxy 2.x, and a latency toxic must show through the proxy.
//
//   KEEL_BIN=build/keel node --test toxiproxy_client_test.mjs
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { createServer, connect } from "node:net";
import { after, before, test } from "node:test";

let client;
try {
  client = await import("toxiproxy-node-client");
} catch (err) {
  throw new Error(`toxiproxy-node-client is not installed; run scripts/install-npm.sh (${err.message})`);
}
const { Toxiproxy } = client;

const KEEL_BIN = process.env.KEEL_BIN ?? "../../build/keel";
let keel;
let toxiproxy;
let echo;
let echoAddr;

function startKeel() {
  return new Promise((resolve, reject) => {
    const proc = spawn(KEEL_BIN, ["chaos", "--api", "127.0.0.1:0"], { stdio: ["ignore", "ignore", "pipe"] });
    let buf = "";
    const timer = setTimeout(() => reject(new Error(`keel chaos did not start: ${buf}`)), 15000);
    proc.stderr.on("data", (d) => {
      buf += d.toString();
      for (const line of buf.split("\n")) {
        try {
          const rec = JSON.parse(line);
          if (rec.msg === "listening") {
            clearTimeout(timer);
            resolve({ proc, addr: rec.http });
          }
        } catch {}
      }
    });
    proc.on("exit", (code) => reject(new Error(`keel chaos exited (${code}): ${buf}`)));
  });
}

function roundTrip(listen, payload = "ping") {
  const [host, port] = [listen.slice(0, listen.lastIndexOf(":")), Number(listen.slice(listen.lastIndexOf(":") + 1))];
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const sock = connect({ host, port, noDelay: true }, () => sock.write(payload));
    let got = "";
    sock.setTimeout(5000, () => reject(new Error("timeout")));
    sock.on("data", (d) => {
      got += d.toString();
      if (got.length >= payload.length) {
        sock.destroy();
        resolve(Number(process.hrtime.bigint() - start) / 1e6);
      }
    });
    sock.on("error", reject);
  });
}

before(async () => {
  echo = createServer((s) => s.pipe(s));
  await new Promise((r) => echo.listen(0, "127.0.0.1", r));
  echoAddr = `127.0.0.1:${echo.address().port}`;
  const started = await startKeel();
  keel = started.proc;
  toxiproxy = new Toxiproxy(`http://${started.addr}`);
});

after(async () => {
  const exited = new Promise((r) => keel.on("exit", r));
  keel.kill("SIGTERM");
  assert.equal(await exited, 0);
  echo.close();
});

test("version answers", async () => {
  const v = await toxiproxy.getVersion();
  assert.ok(JSON.parse(v).version);
});

test("proxy lifecycle and every toxic type", async () => {
  const proxy = await toxiproxy.createProxy({ name: "node", listen: "127.0.0.1:0", upstream: echoAddr });
  assert.equal(proxy.name, "node");
  assert.equal(proxy.enabled, true);
  assert.match(proxy.listen, /^127\.0\.0\.1:\d+$/);
  assert.notEqual(proxy.listen, "127.0.0.1:0");

  const types = [
    { type: "latency", attributes: { latency: 10, jitter: 1 } },
    { type: "bandwidth", attributes: { rate: 1000 } },
    { type: "slow_close", attributes: { delay: 10 } },
    { type: "timeout", stream: "upstream", attributes: { timeout: 1000 } },
    { type: "reset_peer", stream: "upstream", name: "rst", attributes: { timeout: 1000 } },
    { type: "slicer", attributes: { average_size: 64, size_variation: 8, delay: 10 } },
    { type: "limit_data", stream: "upstream", attributes: { bytes: 100000 } },
  ];
  for (const body of types) {
    const toxic = await proxy.addToxic({ toxicity: 1, stream: "downstream", ...body });
    assert.equal(toxic.type, body.type);
    assert.deepEqual(toxic.attributes, body.attributes);
    const read = await proxy.getToxic(toxic.name);
    assert.deepEqual(read.toJson(), toxic.toJson());
    const updated = await read.update({ toxicity: 0.5, attributes: body.attributes });
    assert.equal(updated.toxicity, 0.5);
    await updated.remove();
  }
  await assert.rejects(proxy.getToxic("latency_downstream"), /404/);
  await assert.rejects(proxy.addToxic({ type: "bogus", attributes: {} }), /400/);

  const all = await toxiproxy.getAll();
  assert.deepEqual(Object.keys(all), ["node"]);
  const fetched = await toxiproxy.get("node");
  assert.equal(fetched.listen, proxy.listen);

  const disabled = await fetched.update({ enabled: false, listen: proxy.listen, upstream: echoAddr });
  assert.equal(disabled.enabled, false);
  const enabled = await disabled.update({ enabled: true, listen: proxy.listen, upstream: echoAddr });
  assert.equal(enabled.enabled, true);
  await enabled.remove();
  await assert.rejects(toxiproxy.get("node"), /404/);
});

test("populate and reset", async () => {
  const proxies = await toxiproxy.populate([
    { name: "pop1", listen: "127.0.0.1:0", upstream: echoAddr, enabled: true },
    { name: "pop2", listen: "127.0.0.1:0", upstream: echoAddr, enabled: false },
  ]);
  assert.deepEqual(Object.keys(proxies).sort(), ["pop1", "pop2"]);
  assert.equal(proxies.pop2.enabled, false);
  await proxies.pop1.addToxic({ type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 100, jitter: 0 } });
  await toxiproxy.reset();
  const after = await toxiproxy.getAll();
  assert.equal(after.pop2.enabled, true);
  await assert.rejects(after.pop1.getToxic("latency_downstream"), /404/);
  await after.pop1.remove();
  await after.pop2.remove();
});

test("a latency toxic delays data through the proxy", async () => {
  const proxy = await toxiproxy.createProxy({ name: "lat", listen: "127.0.0.1:0", upstream: echoAddr });
  const base = await roundTrip(proxy.listen);
  await proxy.addToxic({ type: "latency", stream: "downstream", toxicity: 1, attributes: { latency: 150, jitter: 0 } });
  const delayed = await roundTrip(proxy.listen);
  // The precise ±10 % check is in tests/integration/test_chaos.py; here the
  // effect must show without flaking on a busy machine.
  assert.ok(delayed >= 148 && delayed - base < 400, `base ${base} ms, with toxic ${delayed} ms`);
  await proxy.remove();
});
