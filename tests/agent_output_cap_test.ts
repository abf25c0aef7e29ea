import assert from "node:assert/strict";
import { createOutputCap } from "../agent/output_cap.ts";

const encoder = new TextEncoder();

/** Pushes `bytes` into a cap of `maxBytes` in slices of the given sizes, cycling through them. */
function capture(maxBytes: number, bytes: Uint8Array, sliceSizes = [bytes.length || 1]) {
  const cap = createOutputCap(maxBytes);
  for (let offset = 0, i = 0; offset < bytes.length; i++) {
    const size = sliceSizes[i % sliceSizes.length];
    cap.push(bytes.subarray(offset, offset + size));
    offset += size;
  }
  return cap.finish();
}

Deno.test("createOutputCap() keeps the head and the tail of a long stream", async (t) => {
  await t.step("keeps everything under the cap", () => {
    assert.deepEqual(capture(16, encoder.encode("hello\nworld\n"), [1, 3]), {
      text: "hello\nworld\n",
      droppedBytes: 0,
    });
  });

  await t.step("keeps exactly the cap when the stream is as long as the cap", () => {
    assert.deepEqual(capture(10, encoder.encode("0123456789"), [3]), {
      text: "0123456789",
      droppedBytes: 0,
    });
  });

  await t.step("keeps the first and the last half and counts the dropped bytes", () => {
    const bytes = encoder.encode("abcdefghijklmnopqrstuvwxyz");
    for (const sizes of [[26], [1], [3, 7], [5, 1, 11], [9]]) {
      assert.deepEqual(capture(10, bytes, sizes), { text: "abcdevwxyz", droppedBytes: 16 });
    }
  });

  await t.step("gives the extra byte of an odd cap to the head", () => {
    assert.deepEqual(capture(5, encoder.encode("abcdefghij"), [2]), {
      text: "abcij",
      droppedBytes: 5,
    });
  });

  await t.step("with a cap of one byte keeps only the first byte", () => {
    assert.deepEqual(capture(1, encoder.encode("xyz"), [1]), { text: "x", droppedBytes: 2 });
  });

  await t.step("counts every dropped byte of a long stream exactly", () => {
    const cap = createOutputCap(1024);
    const chunk = new Uint8Array(65_536).fill(0x61);
    for (let i = 0; i < 200; i++) cap.push(chunk);
    const { text, droppedBytes } = cap.finish();
    assert.equal(text, "a".repeat(1024));
    assert.equal(droppedBytes, 200 * 65_536 - 1024);
  });
});

Deno.test("createOutputCap() decodes UTF-8 safely", async (t) => {
  await t.step("decodes a character split across chunks", () => {
    const bytes = encoder.encode("héllo → wörld 🎉");
    for (const sizes of [[1], [2], [3, 1], [5]]) {
      assert.deepEqual(capture(1024, bytes, sizes), { text: "héllo → wörld 🎉", droppedBytes: 0 });
    }
  });

  await t.step("decodes a character that straddles head and tail when nothing is dropped", () => {
    const bytes = encoder.encode("ab€"); // 2 + 3 bytes, the euro sign crosses the half of 5
    assert.deepEqual(capture(5, bytes, [1]), { text: "ab€", droppedBytes: 0 });
  });

  await t.step("replaces NUL with U+FFFD", () => {
    const bytes = new Uint8Array([0x61, 0x00, 0x62]);
    assert.deepEqual(capture(10, bytes), { text: "a\uFFFDb", droppedBytes: 0 });
  });

  await t.step("replaces invalid sequences and characters cut by the cap", () => {
    assert.equal(capture(10, new Uint8Array([0x61, 0xff, 0x62])).text, "a\uFFFDb");
    const cut = capture(4, encoder.encode("x€€y")); // keeps "x" + 0xE2 and 0xAC + "y"
    assert.equal(cut.droppedBytes, 4);
    assert.equal(cut.text, "x\uFFFD\uFFFDy");
  });
});

Deno.test("createOutputCap() refuses a cap below one byte", () => {
  assert.throws(
    () => createOutputCap(0),
    new RangeError(
      "Cannot cap output as 'maxBytes' must be a positive integer: current value is 0",
    ),
  );
});
