// One node process for a whole test run: server.mjs REQUESTS REPLIES (two FIFOs, opened by
// tests/interop/pkijs.sh). Each request is a line of fields, each ended by U+001F: the script
// (sign, verify, envelope, unenvelope, forge), the log file, then the script's command line.
// The operation runs as `node SCRIPT.mjs ARGS... >LOG 2>&1` would (the same main, the same
// output and "TOOL: words" on failure), and its status (0 or 1) is the reply line. Starting
// node and loading PKI.js once instead of per operation is most of what the PKI.js test cost.
// Requests come from the test script (trusted); the files they name are untrusted CMS.
import { createReadStream, openSync, writeFileSync, writeSync } from "node:fs";
import { createInterface } from "node:readline";
import { toolName, errorText } from "./common.mjs";
import { main as sign } from "./sign.mjs";
import { main as verify } from "./verify.mjs";
import { main as envelope } from "./envelope.mjs";
import { main as unenvelope } from "./unenvelope.mjs";
import { main as forge } from "./forge.mjs";

const scripts = { sign, verify, envelope, unenvelope, forge };
const [requests, replies] = process.argv.slice(2);
if (!requests || !replies) {
  process.stderr.write("usage: server.mjs REQUESTS REPLIES\n");
  process.exit(2);
}

const input = createInterface({ input: createReadStream(requests), crlfDelay: Infinity });
const out = openSync(replies, "w");
for await (const line of input) {
  const fields = line.split("\u001f");
  fields.pop();  // after the last separator
  const [script, log, ...argv] = fields;
  let text = "", status = 0;
  try {
    if (!Object.hasOwn(scripts, script || "")) throw new Error(`unknown script ${script}`);
    await scripts[script](argv, (t) => { text += t; });
  } catch (e) {
    text += `${toolName(script)}: ${errorText(e)}\n`;
    status = 1;
  }
  try {
    writeFileSync(log, text);
  } catch (e) {
    process.stderr.write(`server.mjs: ${log}: ${errorText(e)}\n`);
    status = 1;
  }
  writeSync(out, `${status}\n`);
}
