import assert from "node:assert/strict";
import { createFailureLimiter } from "../server/rate_limit.ts";
import { generateToken } from "../server/tokens.ts";
import { startTestApp } from "./helpers/app.ts";

/** A clock tests move by hand. */
function manualClock(start = Date.parse("2030-01-01T00:00:00Z")) {
  let now = start;
  return { now: () => new Date(now), advance: (ms: number) => now += ms };
}

Deno.test("createFailureLimiter()", async (t) => {
  await t.step("should let an address fail up to the limit, then make it wait", () => {
    const clock = manualClock();
    const limiter = createFailureLimiter({ maxFailures: 3, windowMs: 60_000, clock });
    for (let i = 0; i < 3; i++) {
      assert.equal(limiter.retryAfter("10.0.0.1"), 0);
      limiter.fail("10.0.0.1");
      clock.advance(1_000);
    }
    assert.equal(limiter.retryAfter("10.0.0.1"), 57);
    assert.equal(limiter.retryAfter("10.0.0.2"), 0, "other addresses are not affected");
    clock.advance(56_500);
    assert.equal(limiter.retryAfter("10.0.0.1"), 1);
    clock.advance(500);
    assert.equal(limiter.retryAfter("10.0.0.1"), 0, "a new window opens");
    limiter.fail("10.0.0.1");
    assert.equal(limiter.retryAfter("10.0.0.1"), 0);
  });

  await t.step("should forget the oldest addresses beyond its capacity", () => {
    const clock = manualClock();
    const limiter = createFailureLimiter({ maxFailures: 1, maxAddresses: 2, clock });
    limiter.fail("a");
    limiter.fail("b");
    limiter.fail("c");
    assert.equal(limiter.retryAfter("a"), 0);
    assert.equal(limiter.retryAfter("c"), 60);
  });

  await t.step("should throw RangeError for a limit that is not positive", () => {
    assert.throws(() => createFailureLimiter({ maxFailures: 0 }), {
      name: "RangeError",
      message: "Cannot limit failures as 'maxFailures' must be positive: 0",
    });
  });
});

Deno.test("failed authentications slow an address down with 429 and Retry-After", async (t) => {
  const clock = manualClock(Date.now());
  let address = "198.51.100.1";
  await using app = await startTestApp({ TASKSCHEDULER_AUTH_FAILURE_LIMIT: "3" }, {
    clock,
    clientAddress: () => address,
  });
  const path = `/api/v1/tasks/${crypto.randomUUID()}/status`;

  await t.step("should not count requests without credentials", async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal((await app.as(null).request("GET", path)).status, 401);
    }
    assert.equal((await app.request("GET", path)).status, 404);
  });

  await t.step("should answer 429 after the limit, even to a valid token", async () => {
    for (let i = 0; i < 3; i++) {
      assert.equal((await app.as(generateToken()).request("GET", path)).status, 401);
    }
    const limited = await app.as(generateToken()).request("GET", path);
    assert.equal(limited.status, 429);
    assert.equal(limited.headers.get("retry-after"), "60");
    assert.match(limited.body.error, /^Too many failed authentications from this address/);
    assert.equal((await app.request("GET", path)).status, 429);
  });

  await t.step("should not slow down other addresses", async () => {
    address = "198.51.100.2";
    assert.equal((await app.request("GET", path)).status, 404);
    address = "198.51.100.1";
  });

  await t.step("should let the address in again once its window ends", async () => {
    clock.advance(60_000);
    assert.equal((await app.request("GET", path)).status, 404);
  });

  await t.step("should log failures without the token", () => {
    const failures = app.logs.filter((l) => l.msg === "Authentication failed");
    assert.ok(failures.length >= 3);
    assert.deepEqual(Object.keys(failures.at(-1)!).sort(), [
      "client_address",
      "level",
      "method",
      "msg",
      "path",
      "reason",
      "time",
    ]);
  });
});
