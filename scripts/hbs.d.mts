import type { Plugin } from 'esbuild';
export declare const hbsCompileOptions: { strict: boolean; noEscape: boolean };
export function hbsModule(text: string): string;
export declare const hbsEsbuildPlugin: Plugin;
