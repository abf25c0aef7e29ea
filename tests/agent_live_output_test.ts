import assert from "node:assert/strict";
import { createLiveOutput, type LiveOutputOptions } from "../agent/live_output.ts";
import type { AgentMessage } from "../shared/protocol.ts";

type OutputMessage = Extract<AgentMessage, { type: "execution.output" }>;

const encoder = new TextEncoder();
const ref = { execution_id: crypto.randomUUID(), task_id: crypto.randomUUID() };

/** A live output whose sent messages are kept; `connected` decides whether sending works. */
function harness(overrides: Partial<LiveOutputOptions> = {}) {
  const sent: OutputMessage[] = [];
  const state = { connected: true };
  const live = createLiveOutput({
    send: (message) => {
      if (!state.connected) return false;
      sent.push(message);
      return true;
    },
    canSend: () => state.connected,
    flushIntervalMs: 60_000,
    ...overrides,
  });
  return { live, sent, state };
}

Deno.test("createLiveOutput() batches what executions print", async (t) => {
  await t.step("merges chunks of one stream and sends them at the end", () => {
    const { live, sent } = harness();
    try {
      live.push(ref, "stdout", encoder.encode("a"));
      live.push(ref, "stdout", encoder.encode("b"));
      live.push(ref, "stderr", encoder.encode("!"));
      live.push(ref, "stdout", encoder.encode("c"));
      assert.deepEqual(sent, []);
      live.end(ref.execution_id);
      assert.deepEqual(sent, [{
        type: "execution.output",
        ...ref,
        chunks: [
          { stream: "stdout", data: "ab" },
          { stream: "stderr", data: "!" },
          { stream: "stdout", data: "c" },
        ],
      }]);
    } finally {
      live.close();
    }
  });

  await t.step("sends as soon as a batch is full", () => {
    const { live, sent } = harness({ maxBatchBytes: 4 });
    try {
      live.push(ref, "stdout", encoder.encode("12"));
      assert.equal(sent.length, 0);
      live.push(ref, "stdout", encoder.encode("345"));
      assert.deepEqual(sent.map((m) => m.chunks), [[{ stream: "stdout", data: "12345" }]]);
    } finally {
      live.close();
    }
  });

  await t.step("sends a pending batch when the flush interval passes", async () => {
    const flushed = Promise.withResolvers<OutputMessage>();
    const live = createLiveOutput({
      send: (message) => {
        flushed.resolve(message);
        return true;
      },
      canSend: () => true,
      flushIntervalMs: 20,
    });
    try {
      live.push(ref, "stderr", encoder.encode("tick"));
      assert.deepEqual((await flushed.promise).chunks, [{ stream: "stderr", data: "tick" }]);
    } finally {
      live.close();
    }
  });

  await t.step("decodes characters split across chunks and replaces NUL", () => {
    const { live, sent } = harness();
    try {
      const bytes = encoder.encode("é\u0000€");
      for (const byte of bytes) live.push(ref, "stdout", new Uint8Array([byte]));
      live.end(ref.execution_id);
      assert.deepEqual(sent[0].chunks, [{ stream: "stdout", data: "é\uFFFD€" }]);
    } finally {
      live.close();
    }
  });

  await t.step("drops output while disconnected", () => {
    const { live, sent, state } = harness();
    try {
      state.connected = false;
      live.push(ref, "stdout", encoder.encode("lost"));
      state.connected = true;
      live.push(ref, "stdout", encoder.encode("kept"));
      live.end(ref.execution_id);
      assert.deepEqual(sent.map((m) => m.chunks), [[{ stream: "stdout", data: "kept" }]]);
    } finally {
      live.close();
    }
  });
});
