// Vite imports a stylesheet for its side effect (bundled into the build's CSS file).
declare module '*.css';
