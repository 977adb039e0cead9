// The official Schematic Node SDK (@schematichq/schematic-typescript-node, unmodified) against the server under test.
//
//   node scenarios.mjs <scenario>
//
// Environment: SCHEMATIC_URL (the server), SCHEMATIC_API_KEY, NODE_SDK_DIR (where `make node-sdk` installed the SDK)
// and SCENARIO_PARAMS (a JSON object, e.g. ids the server made). Driven by tests/sdk_node (pytest), which reads stdout,
// one JSON object a line:
//   {"result": name, "value": …}   what the SDK answered
//   {"wait": label}                the test changes the server now, then writes one line to stdin to go on
//   {"log": level, "message": …}   every warning or error the SDK logged (a document it could not parse shows here)
//   {"done": true}                 the scenario ran to its end (exit code 0)
// A scenario that fails prints {"error": …} and exits with 1.

import { createRequire } from "node:module";
import path from "node:path";
import readline from "node:readline";
import { format } from "node:util";

const require = createRequire(path.join(process.env.NODE_SDK_DIR, "package.json"));
const { SchematicClient } = require("@schematichq/schematic-typescript-node");

const URL = process.env.SCHEMATIC_URL;
const API_KEY = process.env.SCHEMATIC_API_KEY;
const PARAMS = JSON.parse(process.env.SCENARIO_PARAMS || "{}");

const ACME = { external_id: "acme" };
const GLOBEX = { external_id: "globex" };
const INITECH = { external_id: "initech" };
const ANN = { email: "ann@acme.test" };

function emit(line) {
  process.stdout.write(`${JSON.stringify(line)}\n`);
}

function result(name, value) {
  emit({ result: name, value: value === undefined ? null : value });
  return value;
}

const stdin = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();

/** Hand over to the test (it changes the server), and go on once it answers. */
async function waitFor(label) {
  emit({ wait: label });
  const { done } = await stdin.next();
  if (done) throw new Error(`stdin closed while waiting for ${label}`);
}

/** The first truthy value of `probe`, polled every 20 ms; a failure after `timeoutMs` says what was awaited. */
async function until(what, probe, timeoutMs = 10_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const logger = {
  debug() {},
  info() {},
  warn: (...args) => emit({ log: "warn", message: format(...args) }),
  error: (...args) => emit({ log: "error", message: format(...args) }),
};

/** A client as a new user would configure it, minus the timers a test cannot wait for: no REST result cache (every
 * REST check reaches the server) and events flushed by the scenario (`flush`), not every second. */
function client({ datastream }) {
  return new SchematicClient({
    apiKey: API_KEY,
    basePath: URL,
    eventCaptureBaseURL: URL,
    useDataStream: datastream,
    cacheProviders: { flagChecks: [] },
    eventBufferInterval: 3_600_000,
    logger,
  });
}

/** Send the buffered events now (what the SDK does every second), and wait for the server's answer. */
async function flush(sdk) {
  await sdk.eventBuffer.flush();
}

/** The datastream client, once it is connected and holds the flag snapshot (the SDK is ready only after it). */
async function datastreamReady(sdk, flagKey) {
  const ds = sdk.datastreamClient;
  await until(`the datastream to hold flag ${flagKey}`, async () => ds.isConnected() && (await ds.getFlag(flagKey)));
  return ds;
}

/** The parts of a check answer the tests read. */
function answer(response) {
  const { value, reason, ruleType, companyId, userId, entitlement } = response;
  return {
    value,
    reason,
    ruleType: ruleType ?? null,
    companyId: companyId ?? null,
    userId: userId ?? null,
    usage: entitlement?.usage ?? null,
    allocation: entitlement?.allocation ?? null,
    creditRemaining: entitlement?.creditRemaining ?? null,
  };
}

function flagValues(results) {
  return Object.fromEntries(results.map((flag) => [flag.flag, flag.value]));
}

/** The checks of both modes: the same questions, the same answers expected. */
async function checks(sdk) {
  result("globex_sso", await sdk.checkFlag({ company: GLOBEX }, "sso"));
  result("acme_sso", answer(await sdk.checkFlagWithEntitlement({ company: ACME }, "sso")));
  result("acme_generations", answer(await sdk.checkFlagWithEntitlement({ company: ACME }, "ai-generations")));
  result("ann_sso", answer(await sdk.checkFlagWithEntitlement({ company: ACME, user: ANN }, "sso")));
  result("no_context", answer(await sdk.checkFlagWithEntitlement({}, "sso")));
  result("some_flags", flagValues(await sdk.checkFlags({ company: ACME }, ["sso", "ai-generations"])));
}

/** Asked of the server in both modes: the SDK evaluates locally only flags and companies it holds, and checkFlags
 * only when given keys (all of them held). */
async function serverChecks(sdk) {
  result("unknown_company", answer(await sdk.checkFlagWithEntitlement({ company: { external_id: "nobody" } }, "sso")));
  result("unknown_flag", flagValues(await sdk.checkFlags({ company: GLOBEX }, ["sso", "no-such-flag"])));
  result("all_flags", flagValues(await sdk.checkFlags({ company: GLOBEX })));
}

/** Preflight: the "would this be allowed?" options of a check (no endpoint of its own), with 3 of 5 used. */
async function preflights(sdk) {
  const key = "ai-generations";
  result("usage_1", await sdk.checkFlag({ company: ACME }, key, { usage: 1 }));
  result("usage_2", await sdk.checkFlag({ company: ACME }, key, { usage: 2 }));
  result("usage_1_5", await sdk.checkFlag({ company: ACME }, key, { usage: 1.5 })); // rounded up to 2
  result("event_usage_1", await sdk.checkFlag({ company: ACME }, key, { eventUsage: { eventSubtype: "generation", quantity: 1 } }));
  result("event_usage_2", await sdk.checkFlag({ company: ACME }, key, { eventUsage: { eventSubtype: "generation", quantity: 2 } }));
  // check() without creditLeases configured: a plain check carrying the usage as its preflight, no reservation
  const checked = await sdk.check({ company: ACME }, key, { usage: 2 });
  result("check_usage_2", { allowed: checked.allowed, reservation: checked.reservation ?? null });
  result("after", answer(await sdk.checkFlagWithEntitlement({ company: ACME }, key)));
}

async function identifyInitech(sdk, name, seats) {
  await sdk.identify({
    keys: { email: "owner@initech.test" },
    name: "Owner",
    company: { keys: INITECH, name, traits: { seats } },
  });
  await flush(sdk);
}

async function trackTwiceWithOneKeyAndOnceWithout(sdk, company) {
  await sdk.track({ event: "generation", company, quantity: 2 }, { idempotencyKey: "order-1" });
  await flush(sdk);
  await sdk.track({ event: "generation", company, quantity: 2 }, { idempotencyKey: "order-1" }); // a retry
  await sdk.track({ event: "generation", company, quantity: undefined, user: undefined }); // sent as nulls: 1
  await flush(sdk);
}

async function localUsage(sdk, company, expected) {
  return until(`usage ${expected} in the local answer`, async () => {
    const checked = answer(await sdk.checkFlagWithEntitlement({ company }, "ai-generations"));
    return checked.usage === expected && checked;
  });
}

const scenarios = {
  async rest_checks() {
    const sdk = client({ datastream: false });
    await checks(sdk);
    await serverChecks(sdk);
    await sdk.close();
  },

  async rest_events() {
    const sdk = client({ datastream: false });
    await identifyInitech(sdk, "Initech", 3);
    await waitFor("identified");
    await identifyInitech(sdk, "Initech Corp", 7);
    await waitFor("identified_again");
    await trackTwiceWithOneKeyAndOnceWithout(sdk, INITECH);
    await waitFor("tracked");
    result("usage", answer(await sdk.checkFlagWithEntitlement({ company: INITECH }, "ai-generations")));
    await sdk.close();
  },

  async rest_preflight() {
    const sdk = client({ datastream: false });
    await sdk.track({ event: "generation", company: ACME, quantity: 3 });
    await flush(sdk);
    await preflights(sdk);
    await sdk.close();
  },

  async datastream_checks() {
    const sdk = client({ datastream: true });
    const ds = await datastreamReady(sdk, "sso");
    await checks(sdk);
    result("acme_cached", (await ds.getCachedCompany(ACME))?.id ?? null);
    await flush(sdk); // the flag_check events of the local checks
    await waitFor("checks_reported");
    await serverChecks(sdk); // the unknown company: the server's error answer sends the SDK to REST at once
    await sdk.close();
  },

  async datastream_override() {
    const sdk = client({ datastream: true });
    await datastreamReady(sdk, "sso");
    result("before", await sdk.checkFlag({ company: ACME }, "sso"));
    await waitFor("grant");
    await until("the pushed override", () => sdk.checkFlag({ company: ACME }, "sso"));
    result("after", answer(await sdk.checkFlagWithEntitlement({ company: ACME }, "sso")));
    await sdk.close();
  },

  async datastream_usage() {
    const sdk = client({ datastream: true });
    await datastreamReady(sdk, "ai-generations");
    result("before", answer(await sdk.checkFlagWithEntitlement({ company: ACME }, "ai-generations")));
    await trackTwiceWithOneKeyAndOnceWithout(sdk, ACME);
    await waitFor("tracked");
    // The SDK counts every track locally, the retry too (4 + 1); the server's push of its count (3) replaces that.
    result("after_push", await localUsage(sdk, ACME, 3));
    await sdk.track({ event: "generation", company: ACME, quantity: 2 });
    await flush(sdk);
    result("at_limit", await localUsage(sdk, ACME, 5));
    await sdk.close();
  },

  async datastream_identify() {
    const sdk = client({ datastream: true });
    const ds = await datastreamReady(sdk, "ai-generations");
    await identifyInitech(sdk, "Initech", 3);
    await waitFor("identified");
    result("checked", answer(await sdk.checkFlagWithEntitlement({ company: INITECH }, "ai-generations")));
    await identifyInitech(sdk, "Initech Corp", 7);
    const seats = await until("the pushed traits", async () => {
      const traits = (await ds.getCachedCompany(INITECH))?.traits ?? [];
      const value = traits.map((trait) => trait.value).find((value) => value === "7");
      return value;
    });
    result("pushed_seats", seats);
    await sdk.close();
  },

  async datastream_preflight() {
    const sdk = client({ datastream: true });
    await datastreamReady(sdk, "ai-generations");
    await sdk.track({ event: "generation", company: ACME, quantity: 3 });
    await flush(sdk);
    await localUsage(sdk, ACME, 3);
    await preflights(sdk);
    await sdk.close();
  },

  async datastream_credit_overdraft() {
    const sdk = client({ datastream: true });
    const ds = await datastreamReady(sdk, "ai-query");
    const costly = { creditCost: { [PARAMS.credit_type_id]: 50 } };
    result("before", await sdk.checkFlag({ company: ACME }, "ai-query", costly));
    await waitFor("grant");
    // 5 credits, and from now on the overdraft of 100 the account brought: 5 - 50 stays above -100
    result("after", await until("the pushed overdraft", () => sdk.checkFlag({ company: ACME }, "ai-query", costly)));
    const cached = await ds.getCachedCompany(ACME);
    result("held", { balances: cached.creditBalances, postpaid: cached.creditPostpaid ?? null });
    await sdk.close();
  },
};

const name = process.argv[2];
const scenario = scenarios[name];
try {
  if (!scenario) throw new Error(`unknown scenario ${name}; known: ${Object.keys(scenarios).join(", ")}`);
  await scenario();
  emit({ done: true });
  process.exit(0);
} catch (error) {
  emit({ error: error?.stack ?? String(error) });
  process.exit(1);
}
