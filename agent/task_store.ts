/**
 * The task set persisted in the state directory, so a restarted agent keeps its schedule
 * while the server is unreachable.
 *
 * @module
 */
import { join } from "node:path";
import { z } from "zod";
import { createLogger, type Logger } from "../shared/logger.ts";
import { describeIssues, TaskSpec } from "../shared/protocol.ts";
import { writeFileAtomic } from "./atomic_file.ts";

/** Options for {@linkcode createTaskStore}. */
export interface TaskStoreOptions {
  /** The file holding the task set, e.g. `<state_dir>/tasks.json`. */
  path: string;
  /** Where a corrupt file is reported. @default createLogger() */
  logger?: Logger;
}

/** Reads and writes the persisted task set. */
export interface TaskStore {
  /** The saved task set; empty when there is none or it is corrupt (then moved aside). */
  load(): Promise<TaskSpec[]>;
  /** Replaces the saved task set atomically; saves run in call order. */
  save(tasks: TaskSpec[]): Promise<void>;
}

const TaskFile = z.strictObject({ version: z.literal(1), tasks: z.array(TaskSpec) });

/**
 * The task file inside an agent state directory.
 *
 * @example
 * ```ts
 * taskFileIn("/var/lib/taskscheduler-agent"); // "/var/lib/taskscheduler-agent/tasks.json"
 * ```
 */
export function taskFileIn(stateDir: string): string {
  return join(stateDir, "tasks.json");
}

/**
 * Opens the task store at `path`. The file reads `{"version": 1, "tasks": [TaskSpec...]}`.
 *
 * @example
 * ```ts
 * const store = createTaskStore({ path: taskFileIn(config.stateDir) });
 * await store.save([task]);
 * await store.load(); // [task]
 * ```
 */
export function createTaskStore(options: TaskStoreOptions): TaskStore {
  const { path, logger = createLogger() } = options;
  let queue: Promise<void> = Promise.resolve();

  async function moveAside(problem: string): Promise<void> {
    const target = `${path}.corrupt-${Date.now()}`;
    await Deno.rename(path, target).catch(() => {});
    logger.error("Moved a corrupt task file aside", { file: path, moved_to: target, problem });
  }

  return {
    async load() {
      let text: string;
      try {
        text = await Deno.readTextFile(path);
      } catch (err) {
        if (err instanceof Deno.errors.NotFound) return [];
        throw err;
      }
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (err) {
        await moveAside((err as Error).message);
        return [];
      }
      const parsed = TaskFile.safeParse(json);
      if (parsed.success) return parsed.data.tasks;
      await moveAside(describeIssues(parsed.error));
      return [];
    },
    save(tasks) {
      const text = JSON.stringify({ version: 1, tasks }, null, 2);
      const write = queue.then(() => writeFileAtomic(path, text));
      queue = write.catch(() => {});
      return write;
    },
  };
}
