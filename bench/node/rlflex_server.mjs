// A minimal HTTP front end for rate-limiter-flexible (RateLimiterRedis on
// ioredis), answering keel's POST /json shape: 200 when the first
// descriptor's value may pass, 429 when not. The peer of bench/ratelimit_redis.sh.
//
//   node rlflex_server.mjs PORT REDIS_PORT
import http from "node:http";
import Redis from "ioredis";
import { RateLimiterRedis } from "rate-limiter-flexible";

const [port, redisPort] = process.argv.slice(2).map(Number);
const redis = new Redis({ host: "127.0.0.1", port: redisPort, enableOfflineQueue: false });
// A limit no load reaches, as in keel's fixture (token bucket-like points per second).
const limiter = new RateLimiterRedis({ storeClient: redis, keyPrefix: "rlflex", points: 1e9, duration: 1 });

http
  .createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      let key;
      try {
        key = JSON.parse(body).descriptors[0].entries[0].value;
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        return res.end('{"error":"bad json"}');
      }
      limiter
        .consume(key)
        .then(() => {
          res.writeHead(200, { "content-type": "application/json" });
          res.end('{"overall_code":"OK"}');
        })
        .catch((r) => {
          res.writeHead(r instanceof Error ? 503 : 429, { "content-type": "application/json" });
          res.end('{"overall_code":"OVER_LIMIT"}');
        });
    });
  })
  .listen(port, "127.0.0.1", () => console.log(`listening ${port}`));
