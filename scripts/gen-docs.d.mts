export declare const root: string;
export declare const REGENERATE: string;
export function commandsIn(topHelp: string): string[];
export function cliPage(): string;
export function renderResult(file: string, data: Record<string, unknown>): string;
export function benchmarksPage(): string;
export declare const pages: Record<string, () => string>;
export function stalePages(): string[];
