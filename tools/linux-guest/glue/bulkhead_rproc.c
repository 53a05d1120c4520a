// SPDX-License-Identifier: GPL-2.0
/*
 * bulkhead_rproc: remoteproc platform glue for a Bulkhead AMP island that is
 * already running when Linux starts.
 *
 * This is the piece every SoC vendor writes for its remote processors, and
 * the only Linux code the Bulkhead project has: the rest (remoteproc,
 * virtio_rpmsg_bus, rpmsg_ns, rpmsg_char, rpmsg_ctrl, rpmsg_tty) is the
 * kernel's own. The island is never loaded or started by Linux: the
 * remoteproc is registered in RPROC_DETACHED state and attaches to it
 * (`attach`, `get_loaded_rsc_table`, `detach`).
 *
 * The link, as the system description (`[[virtio]]`) gives it:
 * - a shared memory window: `window_phys` is where Linux sees it,
 *   `window_da` where the island sees it (its device addresses), of
 *   `window_size` bytes. The island's resource table is at `table_offset`
 *   in it; its vrings are where the table says (island addresses). The rest
 *   of the window after the table and rings is the pool virtio_rpmsg_bus
 *   takes its buffers from (carveout `vdev0buffer`). Linux writes CPU
 *   physical addresses (`window_phys` + offset) into descriptors; the
 *   island's `remote_base` is `window_phys`.
 * - a doorbell both ways: one byte on a 16550 UART whose other end is the
 *   island's doorbell UART. Linux kicks by sending a byte; the UART's
 *   receive interrupt means "the island rang" and runs every vring's
 *   callback (rproc_vq_interrupt).
 *
 * In simulation (tools/linux-guest) the window is guest RAM that Linux is
 * told not to use (`mem=`), shared with the island's QEMU through one
 * memory-backend-file, and the UART is QEMU's `pci-serial` (1b36:0002)
 * connected by a socket to the island's doorbell UART. Linux's 8250 driver
 * claims that UART at boot; the board set-up hands it to this driver with
 * `driver_override`. On real silicon the same driver would take the window
 * and the mailbox from the device tree instead of module parameters.
 */

#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/remoteproc.h>
#include <linux/serial_reg.h>
#include <linux/spinlock.h>
#include <linux/virtio_ring.h>

static unsigned long window_phys = 0x80000000;
module_param(window_phys, ulong, 0444);
MODULE_PARM_DESC(window_phys, "Linux physical address of the shared window");

static unsigned long window_da = 0x20000000;
module_param(window_da, ulong, 0444);
MODULE_PARM_DESC(window_da, "the island's address of the shared window (its device addresses)");

static unsigned long window_size = 0x100000;
module_param(window_size, ulong, 0444);
MODULE_PARM_DESC(window_size, "size of the shared window in bytes");

static unsigned long table_offset;
module_param(table_offset, ulong, 0444);
MODULE_PARM_DESC(table_offset, "offset of the island's resource table in the window");

/*
 * Exported by remoteproc for its platform drivers, declared in its internal
 * header (drivers/remoteproc/remoteproc_internal.h), which an out-of-tree
 * module cannot include.
 */
irqreturn_t rproc_vq_interrupt(struct rproc *rproc, int vq_id);

/* The largest resource table accepted (the table must fit before the rings). */
#define TABLE_MAX 4096

struct bulkhead_rproc {
	struct device *dev;
	void *window;
	void __iomem *uart;
	/* Serialises transmit-register accesses of kicks. */
	spinlock_t kick_lock;
	/* Size of the table found by the last bulkhead_table() call. */
	size_t table_size;
};

/*
 * Finds the resource table in the window and its exact size; checks that
 * every entry lies inside it. Returns NULL (and says why) when there is no
 * valid table: the island is not running or not a VIRTIO device.
 */
static struct resource_table *bulkhead_table(struct bulkhead_rproc *bh)
{
	struct resource_table *table = bh->window + table_offset;
	size_t room = min_t(size_t, TABLE_MAX, window_size - table_offset);
	size_t end;
	u32 i, num;

	if (table_offset >= window_size || room < sizeof(*table)) {
		dev_err(bh->dev, "table_offset %#lx outside the %#lx-byte window\n", table_offset, window_size);
		return NULL;
	}
	if (table->ver != 1) {
		dev_err(bh->dev, "no resource table at window offset %#lx (version %u, not 1): is the island running?\n",
			table_offset, table->ver);
		return NULL;
	}
	num = table->num;
	end = struct_size(table, offset, num);
	if (num == 0 || end > room) {
		dev_err(bh->dev, "resource table with %u entries does not fit in %zu bytes\n", num, room);
		return NULL;
	}
	for (i = 0; i < num; i++) {
		u32 offset = table->offset[i];
		struct fw_rsc_hdr *hdr = (void *)table + offset;
		size_t entry_end;

		if (offset < struct_size(table, offset, num) || offset + sizeof(*hdr) > room) {
			dev_err(bh->dev, "resource %u at offset %#x outside the table\n", i, offset);
			return NULL;
		}
		switch (hdr->type) {
		case RSC_VDEV: {
			struct fw_rsc_vdev *vdev = (void *)hdr->data;

			entry_end = offset + sizeof(*hdr) + sizeof(*vdev);
			if (entry_end <= room)
				entry_end += vdev->num_of_vrings * sizeof(struct fw_rsc_vdev_vring) + vdev->config_len;
			break;
		}
		case RSC_CARVEOUT:
			entry_end = offset + sizeof(*hdr) + sizeof(struct fw_rsc_carveout);
			break;
		case RSC_DEVMEM:
			entry_end = offset + sizeof(*hdr) + sizeof(struct fw_rsc_devmem);
			break;
		case RSC_TRACE:
			entry_end = offset + sizeof(*hdr) + sizeof(struct fw_rsc_trace);
			break;
		default:
			dev_err(bh->dev, "resource %u has unknown type %u\n", i, hdr->type);
			return NULL;
		}
		if (entry_end > room) {
			dev_err(bh->dev, "resource %u (type %u) runs past the table\n", i, hdr->type);
			return NULL;
		}
		end = max(end, entry_end);
	}
	bh->table_size = end;
	return table;
}

/* Offset in the window of island address `da`, or a negative errno. */
static long bulkhead_offset(struct bulkhead_rproc *bh, u32 da, size_t len)
{
	if (da < window_da || da - window_da > window_size || len > window_size - (da - window_da)) {
		dev_err(bh->dev, "island address %#x (+%#zx) outside the window %#lx..%#lx\n", da, len, window_da,
			window_da + window_size);
		return -ERANGE;
	}
	return da - window_da;
}

/*
 * Registers the memory of each vdev: its vrings where the island placed
 * them (`vdevNvringM`), and the window's remaining pages as the pool its
 * buffers come from (`vdevNbuffer`). All device addresses are the island's.
 */
static int bulkhead_prepare(struct rproc *rproc)
{
	struct bulkhead_rproc *bh = rproc->priv;
	struct resource_table *table = bulkhead_table(bh);
	size_t used = table_offset + (table ? bh->table_size : 0);
	struct rproc_mem_entry *mem;
	int index = 0;
	u32 i, v;

	if (!table)
		return -ENODEV;
	for (i = 0; i < table->num; i++) {
		struct fw_rsc_hdr *hdr = (void *)table + table->offset[i];
		struct fw_rsc_vdev *vdev = (void *)hdr->data;

		if (hdr->type != RSC_VDEV)
			continue;
		for (v = 0; v < vdev->num_of_vrings; v++) {
			struct fw_rsc_vdev_vring *vring = &vdev->vring[v];
			size_t len;
			long offset;

			if (vring->da == FW_RSC_ADDR_ANY) {
				dev_err(bh->dev, "vdev %d vring %u: the island left placement to the driver; this glue supports rings placed by the island only\n",
					index, v);
				return -EINVAL;
			}
			if (!vring->num || !vring->align) {
				dev_err(bh->dev, "vdev %d vring %u: num %u, align %u\n", index, v, vring->num, vring->align);
				return -EINVAL;
			}
			len = PAGE_ALIGN(vring_size(vring->num, vring->align));
			offset = bulkhead_offset(bh, vring->da, len);
			if (offset < 0)
				return offset;
			mem = rproc_mem_entry_init(bh->dev, bh->window + offset, window_phys + offset, len, vring->da,
						   NULL, NULL, "vdev%dvring%u", index, v);
			if (!mem)
				return -ENOMEM;
			rproc_add_carveout(rproc, mem);
			used = max_t(size_t, used, offset + len);
		}
		index++;
	}
	if (index != 1) {
		dev_err(bh->dev, "%d VIRTIO devices in the resource table; this glue serves exactly one\n", index);
		return -EINVAL;
	}
	used = PAGE_ALIGN(used);
	if (used >= window_size) {
		dev_err(bh->dev, "no room for buffers in the window after %#zx bytes of table and rings\n", used);
		return -ENOSPC;
	}
	/* No virtual address: remoteproc declares it as vdev0's DMA pool. */
	mem = rproc_mem_entry_init(bh->dev, NULL, window_phys + used, window_size - used, window_da + used, NULL,
				   NULL, "vdev0buffer");
	if (!mem)
		return -ENOMEM;
	rproc_add_carveout(rproc, mem);
	dev_info(bh->dev, "window %#lx+%#lx (island %#lx), resource table %zu bytes, buffer pool at +%#zx\n",
		 window_phys, window_size, window_da, bh->table_size, used);
	return 0;
}

static struct resource_table *bulkhead_get_loaded_rsc_table(struct rproc *rproc, size_t *size)
{
	struct bulkhead_rproc *bh = rproc->priv;
	struct resource_table *table = bulkhead_table(bh);

	if (!table)
		return ERR_PTR(-ENODEV);
	*size = bh->table_size;
	return table;
}

/* The island is already running: nothing to start. */
static int bulkhead_attach(struct rproc *rproc)
{
	return 0;
}

/* The island keeps running: nothing to stop. */
static int bulkhead_detach(struct rproc *rproc)
{
	return 0;
}

/*
 * One byte on the doorbell UART. A byte still waiting in the transmit
 * register is a ring not yet delivered, which covers this one too (the
 * island looks at every ring when it arrives), so a busy UART is left alone.
 */
static void bulkhead_kick(struct rproc *rproc, int vqid)
{
	struct bulkhead_rproc *bh = rproc->priv;
	unsigned long flags;

	spin_lock_irqsave(&bh->kick_lock, flags);
	if (ioread8(bh->uart + UART_LSR) & UART_LSR_THRE)
		iowrite8(vqid, bh->uart + UART_TX);
	spin_unlock_irqrestore(&bh->kick_lock, flags);
}

static const struct rproc_ops bulkhead_ops = {
	.prepare = bulkhead_prepare,
	.attach = bulkhead_attach,
	.detach = bulkhead_detach,
	.kick = bulkhead_kick,
	.get_loaded_rsc_table = bulkhead_get_loaded_rsc_table,
};

/*
 * The island rang: drain the UART (which lowers the interrupt) and let the
 * thread run the vrings. A byte arriving after the drain raises the
 * interrupt again, so no ring is lost.
 */
static irqreturn_t bulkhead_doorbell_irq(int irq, void *data)
{
	struct rproc *rproc = data;
	struct bulkhead_rproc *bh = rproc->priv;
	bool rang = false;

	if (ioread8(bh->uart + UART_IIR) & UART_IIR_NO_INT)
		return IRQ_NONE;
	while (ioread8(bh->uart + UART_LSR) & UART_LSR_DR) {
		ioread8(bh->uart + UART_RX);
		rang = true;
	}
	return rang ? IRQ_WAKE_THREAD : IRQ_HANDLED;
}

static int bulkhead_vq_notified(int id, void *p, void *data)
{
	rproc_vq_interrupt(data, id);
	return 0;
}

/* In a thread: the name service callback registers devices and sleeps. */
static irqreturn_t bulkhead_doorbell_thread(int irq, void *data)
{
	struct rproc *rproc = data;

	idr_for_each(&rproc->notifyids, bulkhead_vq_notified, rproc);
	return IRQ_HANDLED;
}

/* 8 data bits, no parity, FIFOs off (one byte is one ring), receive interrupt on. */
static void bulkhead_uart_init(void __iomem *uart)
{
	iowrite8(0, uart + UART_IER);
	iowrite8(UART_LCR_DLAB, uart + UART_LCR);
	iowrite8(1, uart + UART_DLL);
	iowrite8(0, uart + UART_DLM);
	iowrite8(UART_LCR_WLEN8, uart + UART_LCR);
	iowrite8(0, uart + UART_FCR);
	iowrite8(UART_MCR_OUT2 | UART_MCR_RTS | UART_MCR_DTR, uart + UART_MCR);
	while (ioread8(uart + UART_LSR) & UART_LSR_DR)
		ioread8(uart + UART_RX);
	ioread8(uart + UART_IIR);
	ioread8(uart + UART_MSR);
}

static int bulkhead_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct device *dev = &pdev->dev;
	struct bulkhead_rproc *bh;
	struct rproc *rproc;
	int ret;

	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK(32));
	if (ret)
		return ret;
	rproc = devm_rproc_alloc(dev, "bulkhead-island", &bulkhead_ops, NULL, sizeof(*bh));
	if (!rproc)
		return -ENOMEM;
	bh = rproc->priv;
	bh->dev = dev;
	spin_lock_init(&bh->kick_lock);
	bh->uart = pcim_iomap(pdev, 0, 0);
	if (!bh->uart)
		return dev_err_probe(dev, -ENOMEM, "cannot map the doorbell UART (BAR 0)\n");
	bh->window = devm_memremap(dev, window_phys, window_size, MEMREMAP_WC);
	if (IS_ERR(bh->window))
		return dev_err_probe(dev, PTR_ERR(bh->window), "cannot map the window %#lx+%#lx\n", window_phys,
				     window_size);
	rproc->state = RPROC_DETACHED;
	rproc->auto_boot = true;
	pci_set_drvdata(pdev, rproc);

	bulkhead_uart_init(bh->uart);
	ret = devm_request_threaded_irq(dev, pdev->irq, bulkhead_doorbell_irq, bulkhead_doorbell_thread, IRQF_SHARED,
					"bulkhead-doorbell", rproc);
	if (ret)
		return dev_err_probe(dev, ret, "cannot take interrupt %d\n", pdev->irq);
	iowrite8(UART_IER_RDI, bh->uart + UART_IER);

	ret = rproc_add(rproc);
	if (ret) {
		iowrite8(0, bh->uart + UART_IER);
		return dev_err_probe(dev, ret, "cannot attach to the island\n");
	}
	return 0;
}

static void bulkhead_remove(struct pci_dev *pdev)
{
	struct rproc *rproc = pci_get_drvdata(pdev);
	struct bulkhead_rproc *bh = rproc->priv;

	if (rproc->state == RPROC_ATTACHED)
		rproc_detach(rproc);
	rproc_del(rproc);
	iowrite8(0, bh->uart + UART_IER);
}

/* QEMU's pci-serial (1b36:0002); a real board names its mailbox in the device tree. */
#define QEMU_PCI_SERIAL 0x0002
static const struct pci_device_id bulkhead_ids[] = {
	{ PCI_DEVICE(PCI_VENDOR_ID_REDHAT, QEMU_PCI_SERIAL) },
	{}
};
MODULE_DEVICE_TABLE(pci, bulkhead_ids);

static struct pci_driver bulkhead_driver = {
	.name = "bulkhead_rproc",
	.id_table = bulkhead_ids,
	.probe = bulkhead_probe,
	.remove = bulkhead_remove,
};
module_pci_driver(bulkhead_driver);

MODULE_DESCRIPTION("remoteproc glue for a running Bulkhead AMP island: shared window and UART doorbell");
MODULE_LICENSE("GPL");
