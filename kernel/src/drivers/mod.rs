//! Device drivers the kernel itself uses. A board chooses one per role
//! through the generated tables (a chip provides the UART, the board says
//! which one is the console).

pub mod cmsdk_uart;
