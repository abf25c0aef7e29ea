/**
 * Live output: what running executions print, batched into `execution.output` messages.
 * Best effort only: nothing is kept while disconnected, and memory stays bounded.
 *
 * @module
 */
import type { AgentMessage } from "../shared/protocol.ts";
import type { ExecutionRef, OutputStream } from "./runner.ts";

type OutputMessage = Extract<AgentMessage, { type: "execution.output" }>;
type Chunk = OutputMessage["chunks"][number];

/** Options for {@linkcode createLiveOutput}. */
export interface LiveOutputOptions {
  /** Sends one message if it can; false means it was dropped. */
  send: (message: OutputMessage) => boolean;
  /** Whether sending is worth trying now. */
  canSend: () => boolean;
  /** How long output waits to be batched. @default 200 */
  flushIntervalMs?: number;
  /** Pending bytes of one execution that trigger an immediate send. @default 65536 */
  maxBatchBytes?: number;
}

/** Batches live output per execution. */
export interface LiveOutput {
  /** Adds a chunk an execution wrote; dropped when nothing can be sent. */
  push(execution: ExecutionRef, stream: OutputStream, chunk: Uint8Array): void;
  /** Sends what is left of an execution's output and forgets it. */
  end(executionId: string): void;
  /** Drops everything pending and stops the flush timer. */
  close(): void;
}

interface Pending {
  ref: ExecutionRef;
  decoders: Record<OutputStream, TextDecoder>;
  chunks: Chunk[];
  bytes: number;
}

/**
 * Creates the live output batcher: each execution's chunks go out every `flushIntervalMs`
 * or as soon as `maxBatchBytes` are pending, whichever comes first.
 *
 * @example
 * ```ts
 * const live = createLiveOutput({
 *   send: (message) => connection.sendBestEffort(message),
 *   canSend: () => connection.isOpen,
 * });
 * live.push({ execution_id, task_id }, "stdout", bytes);
 * ```
 */
export function createLiveOutput(options: LiveOutputOptions): LiveOutput {
  const { send, canSend, flushIntervalMs = 200, maxBatchBytes = 65_536 } = options;
  const pending = new Map<string, Pending>();
  let timer: ReturnType<typeof setTimeout> | undefined;

  function flush(state: Pending): void {
    if (state.chunks.length === 0) return;
    const chunks = state.chunks;
    state.chunks = [];
    state.bytes = 0;
    const { execution_id, task_id } = state.ref;
    send({ type: "execution.output", execution_id, task_id, chunks });
  }

  function flushAll(): void {
    timer = undefined;
    for (const state of pending.values()) flush(state);
  }

  function stateOf(ref: ExecutionRef): Pending {
    let state = pending.get(ref.execution_id);
    if (!state) {
      const decoders = { stdout: new TextDecoder(), stderr: new TextDecoder() };
      state = { ref, decoders, chunks: [], bytes: 0 };
      pending.set(ref.execution_id, state);
    }
    return state;
  }

  function add(state: Pending, stream: OutputStream, data: string): void {
    if (data === "") return;
    const clean = data.replaceAll("\u0000", "\uFFFD");
    const last = state.chunks.at(-1);
    if (last?.stream === stream) last.data += clean;
    else state.chunks.push({ stream, data: clean });
  }

  return {
    push(ref, stream, chunk) {
      const state = stateOf(ref);
      if (!canSend()) {
        // Disconnected: drop, and restart decoding cleanly once the server is back.
        state.chunks = [];
        state.bytes = 0;
        state.decoders[stream] = new TextDecoder();
        return;
      }
      add(state, stream, state.decoders[stream].decode(chunk, { stream: true }));
      state.bytes += chunk.length;
      if (state.bytes >= maxBatchBytes) flush(state);
      else timer ??= setTimeout(flushAll, flushIntervalMs);
    },
    end(executionId) {
      const state = pending.get(executionId);
      if (!state) return;
      pending.delete(executionId);
      if (!canSend()) return;
      for (const stream of ["stdout", "stderr"] as const) {
        add(state, stream, state.decoders[stream].decode());
      }
      flush(state);
    },
    close() {
      clearTimeout(timer);
      timer = undefined;
      pending.clear();
    },
  };
}
