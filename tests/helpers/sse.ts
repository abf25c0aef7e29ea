/** Reading Server-Sent Events in tests. */

/** One event of a stream. */
export interface SseEvent {
  event: string;
  data: string;
}

/**
 * Reads the events of an SSE response as they come; stops when the stream ends.
 *
 * @example
 * ```ts
 * for await (const event of sseEvents(await fetch(url))) console.log(event.event);
 * ```
 */
export async function* sseEvents(response: Response): AsyncGenerator<SseEvent> {
  if (!response.body) return;
  let buffer = "";
  for await (const text of response.body.pipeThrough(new TextDecoderStream())) {
    buffer += text;
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let event = "message";
      const data: string[] = [];
      for (const line of block.split("\n")) {
        if (line.startsWith("event:")) event = line.slice(6).trim();
        else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
      }
      if (data.length > 0) yield { event, data: data.join("\n") };
    }
  }
}
