// smoke-test.js GAME_DIR: run at image build time, after patch-game.sh.
//
// Starts the patched game server on a spare port, connects with the WebSocket client that
// current Node ships (the same handshake rules as a browser), joins with the game's own "init"
// message and waits for the server's game-start message. Any failure, or no answer within 20 s,
// exits non-zero and fails the image build.
'use strict';

const { spawn } = require('node:child_process');
const path = require('node:path');

const MSG_GAME_START = 1;
const game = path.resolve(process.argv[2] || '/opt/asteroids');
const port = Number(process.env.SMOKE_PORT || 28799);

if (typeof WebSocket !== 'function') {
    if (process.execArgv.includes('--experimental-websocket')) {
        console.error('smoke-test: this Node has no WebSocket client; use a node image of version 22 or later');
        process.exit(1);
    }
    const again = spawn(process.execPath, ['--experimental-websocket', ...process.argv.slice(1)], {
        stdio: 'inherit',
    });
    again.on('exit', (code) => process.exit(code === null ? 1 : code));
    return;
}

const BISON = require(path.join(game, 'server', 'nodegame', 'bison'));
const server = spawn(process.execPath, [path.join(game, 'server', 'server.js'), String(port)], {
    stdio: ['ignore', 'inherit', 'inherit'],
});

function finish(code, message) {
    server.removeAllListeners('exit');
    server.kill('SIGKILL');
    console.error('smoke-test: ' + message);
    process.exit(code);
}

server.on('exit', (code, signal) => finish(1, `the game server stopped (${code === null ? signal : code})`));
setTimeout(() => finish(1, 'no game-start message within 20 s'), 20000);

function connect(attempt) {
    const socket = new WebSocket(`ws://127.0.0.1:${port}/`);
    let opened = false;
    socket.addEventListener('open', () => {
        opened = true;
        socket.send(BISON.encode(['init']));
    });
    socket.addEventListener('message', (event) => {
        const message = BISON.decode(String(event.data));
        if (Array.isArray(message) && message[0] === MSG_GAME_START) {
            socket.close();
            finish(0, `handshake, init and game start over WebSocket OK on Node ${process.version}`);
        }
    });
    socket.addEventListener('close', () => {
        if (!opened && attempt < 20) {
            setTimeout(() => connect(attempt + 1), 250);
        } else if (!opened) {
            finish(1, 'the game server refused every WebSocket handshake');
        }
    });
}

setTimeout(() => connect(1), 250);
