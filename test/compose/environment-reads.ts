import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';

const variableName = /^[A-Z][A-Z0-9_]*$/;

/**
 * The environment variables that the TypeScript sources under `folders` read, found in their
 * syntax trees (comments and strings do not count):
 * - the keys of the zod config shapes, `NAME: env.text(...)` or `NAME: z.string()...`, which
 *   `loadConfig` reads from the environment;
 * - `process.env.NAME`, `process.env['NAME']`, and `environment['NAME']` / `env['NAME']` on a
 *   passed-in environment.
 */
export function environmentVariablesRead(folders: string[]): Set<string> {
  const names = new Set<string>();
  for (const file of folders.flatMap(typeScriptFiles)) {
    const source = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
    const visit = (node: ts.Node): void => {
      const name = variableRead(node);
      if (name !== undefined) names.add(name);
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return names;
}

function variableRead(node: ts.Node): string | undefined {
  if (ts.isPropertyAssignment(node) && (ts.isIdentifier(node.name) || ts.isStringLiteral(node.name)) && variableName.test(node.name.text)) {
    const root = rootIdentifier(node.initializer);
    return root === 'env' || root === 'z' ? node.name.text : undefined;
  }
  if (ts.isPropertyAccessExpression(node) && isEnvironment(node.expression) && variableName.test(node.name.text)) return node.name.text;
  if (ts.isElementAccessExpression(node) && isEnvironment(node.expression) && ts.isStringLiteralLike(node.argumentExpression) && variableName.test(node.argumentExpression.text)) {
    return node.argumentExpression.text;
  }
  return undefined;
}

function isEnvironment(expression: ts.Expression): boolean {
  if (ts.isPropertyAccessExpression(expression)) return ts.isIdentifier(expression.expression) && expression.expression.text === 'process' && expression.name.text === 'env';
  return ts.isIdentifier(expression) && (expression.text === 'environment' || expression.text === 'env');
}

/** `env` for `env.text('x').refine(...)`, `z` for `z.preprocess(...)`. */
function rootIdentifier(expression: ts.Expression): string | undefined {
  let current = expression;
  while (ts.isCallExpression(current) || ts.isPropertyAccessExpression(current) || ts.isElementAccessExpression(current) || ts.isParenthesizedExpression(current)) {
    current = current.expression;
  }
  return ts.isIdentifier(current) ? current.text : undefined;
}

function typeScriptFiles(folder: string): string[] {
  return readdirSync(folder, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(folder, entry.name);
    if (entry.isDirectory()) return entry.name === 'node_modules' ? [] : typeScriptFiles(file);
    return entry.name.endsWith('.ts') ? [file] : [];
  });
}
