/** A small client for the REST API, for end-to-end tests. */
export interface ApiClient {
  /** Creates a task and returns its id; throws unless the answer is 201. */
  create(task: Record<string, unknown>): Promise<string>;
  // deno-lint-ignore no-explicit-any
  status(taskId: string): Promise<any>;
  /** Creates an agent token bound to `serverId` (needs an admin token) and returns it. */
  createAgentToken(serverId: string): Promise<string>;
}

/** A client for the server at `baseUrl`, sending `headers` with every request. */
export function apiClient(baseUrl: string, headers: Record<string, string> = {}): ApiClient {
  return {
    async create(task) {
      const res = await fetch(`${baseUrl}/api/v1/tasks/create`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify(task),
      });
      const body = await res.json();
      if (res.status !== 201) throw new Error(`Create answered ${res.status}: ${body.error}`);
      return body.command_id;
    },
    async status(taskId) {
      const res = await fetch(`${baseUrl}/api/v1/tasks/${taskId}/status`, { headers });
      const body = await res.json();
      if (res.status !== 200) throw new Error(`Status answered ${res.status}: ${body.error}`);
      return body;
    },
    async createAgentToken(serverId) {
      const res = await fetch(`${baseUrl}/api/v1/tokens`, {
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        body: JSON.stringify({ name: serverId, role: "agent", server_id: serverId }),
      });
      const body = await res.json();
      if (res.status !== 201) throw new Error(`Token answered ${res.status}: ${body.error}`);
      return body.token;
    },
  };
}
