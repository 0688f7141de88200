// Values the examples of @cloister/cli may take as given (see spec/api-docs.md).
/** What a `cloister … --json` command printed on standard output (one JSON document). */
declare const stdout: string;
/** One line of what `cloister client listen --json` or `cloister server start --json` printed. */
declare const stdoutLine: string;
