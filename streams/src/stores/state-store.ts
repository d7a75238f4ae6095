/** Anything a processor can ask its context for by name. */
export interface StateStore {
  readonly name: string;
}
