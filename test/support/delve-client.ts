import { connect, type Socket } from 'node:net';

/**
 * A minimal client of delve's API v2: JSON-RPC 1.0 over TCP (Go's
 * net/rpc/jsonrpc), one JSON object per call and per answer, matched by id.
 * Field names are delve's (service/api and service/rpc2).
 */
export interface DelveThread {
  goroutineID: number;
  breakPoint?: { id: number; functionName: string } | null;
  function?: { name: string } | null;
}

export interface DelveState {
  Running?: boolean;
  exited?: boolean;
  currentThread?: DelveThread | null;
}

export interface DelveVariable {
  name: string;
  type: string;
  value: string;
  children?: DelveVariable[];
}

const LOAD = { FollowPointers: true, MaxVariableRecurse: 1, MaxStringLen: 256, MaxArrayValues: 16, MaxStructFields: -1 };

export class DelveClient {
  private nextId = 1;
  private buffer = '';
  private readonly pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>();

  private constructor(private readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.receive(chunk));
    socket.on('close', () => {
      for (const call of this.pending.values()) call.reject(new Error('delve closed the connection'));
      this.pending.clear();
    });
  }

  static connect(address: string): Promise<DelveClient> {
    const [host, port] = [address.slice(0, address.lastIndexOf(':')), Number(address.slice(address.lastIndexOf(':') + 1))];
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port }, () => resolve(new DelveClient(socket)));
      socket.once('error', reject);
    });
  }

  call<T>(method: string, params: unknown): Promise<T> {
    const id = this.nextId++;
    const answer = new Promise<T>((resolve, reject) => this.pending.set(id, { resolve: (value) => resolve(value as T), reject }));
    this.socket.write(`${JSON.stringify({ method: `RPCServer.${method}`, params: [params], id })}\n`);
    return answer;
  }

  /** `halt`, `continue`, …: resolves when the target stops again (for continue: at a breakpoint). */
  async command(name: string): Promise<DelveState> {
    return (await this.call<{ State: DelveState }>('Command', { name })).State;
  }

  async createBreakpoint(functionName: string): Promise<number> {
    return (await this.call<{ Breakpoint: { id: number } }>('CreateBreakpoint', { Breakpoint: { functionName } })).Breakpoint.id;
  }

  async clearBreakpoint(id: number): Promise<void> {
    await this.call('ClearBreakpoint', { Id: id });
  }

  async eval(goroutineID: number, expr: string): Promise<DelveVariable> {
    return (await this.call<{ Variable: DelveVariable }>('Eval', { Scope: { GoroutineID: goroutineID, Frame: 0 }, Expr: expr, Cfg: LOAD })).Variable;
  }

  async functionArgs(goroutineID: number): Promise<DelveVariable[]> {
    return (await this.call<{ Args: DelveVariable[] }>('ListFunctionArgs', { Scope: { GoroutineID: goroutineID, Frame: 0 }, Cfg: LOAD })).Args;
  }

  close(): void {
    this.socket.end();
  }

  private receive(chunk: string): void {
    this.buffer += chunk;
    for (let newline = this.buffer.indexOf('\n'); newline >= 0; newline = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, newline).trim();
      this.buffer = this.buffer.slice(newline + 1);
      if (!line) continue;
      const message = JSON.parse(line) as { id: number; result: unknown; error: string | null };
      const call = this.pending.get(message.id);
      if (!call) continue;
      this.pending.delete(message.id);
      if (message.error) call.reject(new Error(`delve: ${message.error}`));
      else call.resolve(message.result);
    }
  }
}
