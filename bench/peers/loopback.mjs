/**
 * Preload for a peer gateway started by bench/peers.ts (`node --import ./bench/peers/loopback.mjs …`):
 * - every `server.listen(port, host?)` with no host, `0.0.0.0` or `::` binds 127.0.0.1 instead
 *   (Portkey's start-server passes no hostname, so @hono/node-server would bind all interfaces);
 * - once the server listens it prints `listening on http://127.0.0.1:<port>` (what bench/child.ts waits for);
 * - the process exits when its stdin closes (how bench/child.ts stops a child).
 */
import net from "node:net";

const listen = net.Server.prototype.listen;
const wildcard = new Set([undefined, "0.0.0.0", "::", ""]);
net.Server.prototype.listen = function (...args) {
  if (typeof args[0] === "number" || (typeof args[0] === "string" && /^\d+$/.test(args[0]))) {
    if (typeof args[1] === "function") args.splice(1, 0, "127.0.0.1");
    else if (wildcard.has(args[1])) args[1] = "127.0.0.1";
    else if (args.length === 1) args.push("127.0.0.1");
  } else if (args[0] && typeof args[0] === "object" && !("path" in args[0]) && wildcard.has(args[0].host)) {
    args[0] = { ...args[0], host: "127.0.0.1" };
  }
  this.once("listening", () => {
    const a = this.address();
    if (a && typeof a === "object") process.stdout.write(`\nlistening on http://${a.address}:${a.port}\n`);
  });
  return listen.apply(this, args);
};

const stop = () => process.exit(0);
process.stdin.on("end", stop);
process.stdin.on("close", stop);
process.stdin.resume();
