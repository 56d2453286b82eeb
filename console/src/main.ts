// Entry point: the stylesheet and the shell.
import "./style.css";
import { startApp } from "./app.js";

const root = document.getElementById("app");
if (root) startApp(root);
