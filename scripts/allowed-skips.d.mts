export declare const allowedSkips: { test: string; reason: string }[];
