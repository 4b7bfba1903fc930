/** The process environment as every subsystem reads it: never written, any variable may be unset. */
export type Env = Readonly<Record<string, string | undefined>>;
